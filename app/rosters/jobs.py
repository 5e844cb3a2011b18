"""Large rosters in the background: an asyncio task per batch, and recovery of interrupted ones.

The batch row is committed (`received`) before the task starts. A served app's task hands the
batch to a roster process (app/core/workers.py), holding the batch's lock while it waits for
one; the tests' apps run it in their own loop. Where it runs, the work holds a transaction
advisory lock on the batch for its whole run, marks it `processing` (committed) if still
`received`, then stages and applies it in ONE transaction that also completes the batch: a crash
leaves a batch that says `processing` and no registration of it. A large one may also use a
second connection, whose prepared transaction commits right after that one (lanes.py); such a
batch reads `processing` (applied) until both have committed, then `completed`. A sweep (at
start-up, then every ROSTER_SWEEP_SECONDS) settles such prepared halves that a dead process
left, and marks failed, with `interrupted`, the unfinished batches whose lock no process holds
any more: a `processing` one at once, a `received` one after a grace period. The start-up sweep
runs before the first request, so a retry with the same Idempotency-Key starts a new batch
instead of replaying a dead one.
"""

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core import workers
from app.core.auth import Principal
from app.core.database import create_sessionmaker, engine_for
from app.core.errors import AppError, is_database_unavailable
from app.core.observability import configure_logging
from app.core.settings import Settings
from app.core.workers import Worker, WorkerFailed, WorkerGone
from app.events import service as events
from app.events.types import EventType
from app.rosters import pipeline
from app.rosters.lanes import SecondLane, drop_orphan_tables, resolve_prepared
from app.rosters.parsing import RosterFormat, xlsx_rows
from app.rosters.repository import batches
from app.rosters.runner import batch_event, complete_applied, run_batch
from app.rosters.upload import Upload

logger = logging.getLogger("perisai.rosters")

MAX_RUNNING_JOBS = 2
# A roster process's pool: the batch's own transaction, and its progress (or claim, or
# completion) beside it; the second lane connects on its own.
ROSTER_PROCESS_CONNECTIONS = 3
STARTUP_SWEEP_TIMEOUT_SECONDS = 10
# A `received` batch younger than this may still be between its request's commit and its
# task's lock.
UNCLAIMED_GRACE_SECONDS = 60
PROGRESS_SECONDS = 0.5
DEFAULT_ERRORS_RETENTION_HOURS: int = Settings.model_fields["roster_errors_retention_hours"].default
TEXT_FORMATS = (RosterFormat.CSV, RosterFormat.NDJSON)


@dataclass(frozen=True, slots=True)
class Finished:
    """What a background batch came to, for /metrics."""

    applied: bool
    rows: int = 0
    seconds: float = 0.0


@dataclass
class JobStats:
    """What the finished background batches of this process did, for /metrics."""

    batches: dict[str, int] = field(default_factory=lambda: {"completed": 0, "failed": 0})
    rows: int = 0
    last_rows_per_second: float = 0.0

    def finished(self, outcome: Finished) -> None:
        self.batches["completed" if outcome.applied else "failed"] += 1
        if outcome.applied:
            self.rows += outcome.rows
            self.last_rows_per_second = outcome.rows / outcome.seconds if outcome.seconds else 0.0


@dataclass(frozen=True)
class JobEnv:
    """What a batch's work needs of where it runs: the server's app or a roster process."""

    sessionmaker: async_sessionmaker[AsyncSession]
    parallel_min_rows: int
    slots: asyncio.Semaphore


class Jobs:
    """The background batches of one application, run in its roster processes when it owns
    its engine and ROSTER_PROCESSES is on, else in its own event loop."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(MAX_RUNNING_JOBS)
        self.stats = JobStats()
        self.idle: list[Worker] = []  # roster processes waiting for a batch

    def start(self, app: FastAPI, job: pipeline.Job, upload: Upload, principal: Principal) -> None:
        task = asyncio.create_task(run(app, job, upload, principal), name=f"roster {job.batch_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        idle, self.idle = self.idle, []
        await asyncio.gather(*(process.stop() for process in idle))


def jobs_of(app: FastAPI) -> Jobs:
    jobs: Jobs | None = getattr(app.state, "roster_jobs", None)
    if jobs is None:
        jobs = app.state.roster_jobs = Jobs()
    return jobs


async def launch(app: FastAPI, job: pipeline.Job, upload: Upload, principal: Principal) -> None:
    """Runs as a response background task, so after the request's transaction committed."""
    jobs_of(app).start(app, job, upload, principal)


# Starts a batch's job once the request has committed; the job owns the upload from then on.
Launcher = Callable[[pipeline.Job, Upload, Principal], None]


def background_launcher(request: Request, background: BackgroundTasks) -> Launcher:
    """A Launcher that adds the job to the response's background tasks."""

    def start(job: pipeline.Job, upload: Upload, principal: Principal) -> None:
        background.add_task(launch, request.app, job, upload, principal)

    return start


LauncherDep = Annotated[Launcher, Depends(background_launcher)]


async def run(app: FastAPI, job: pipeline.Job, upload: Upload, principal: Principal) -> None:
    jobs = jobs_of(app)
    outcome = Finished(applied=False)
    try:
        if _in_processes(app):
            outcome = await _hand_over(app, jobs, job, upload, principal)
        else:
            env = JobEnv(
                app.state.sessionmaker, app.state.settings.roster_parallel_min_rows, jobs.slots
            )
            outcome = await work(env, job, upload, principal)
    finally:
        jobs.stats.finished(outcome)


def _in_processes(app: FastAPI) -> bool:
    """Roster processes need a database of their own to connect to: the tests' apps, bound to
    their own transaction, run their batches in their own loop."""
    return bool(app.state.settings.roster_processes) and hasattr(app.state, "engine")


async def _hand_over(
    app: FastAPI, jobs: Jobs, job: pipeline.Job, upload: Upload, principal: Principal
) -> Finished:
    """Runs the batch in a roster process. The batch's lock is held here while it waits for
    one (so that no sweep takes it for dead), and let go once the process has it."""
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    try:
        async with sessionmaker() as waiting:
            await _lock_on_a_live_connection(waiting, job.batch_id)
            async with jobs.slots:
                process = _idle_process(jobs) or _start_process(app)
                try:
                    fd = upload.file.fileno()
                    outcome: Finished = await process.call(
                        (job, principal, upload.fields()), fd, sent=waiting.commit
                    )  # the lock is let go once the process has the batch: it takes it
                except BaseException:
                    await process.stop(grace=0)
                    raise
                jobs.idle.append(process)
                return outcome
    except (WorkerGone, WorkerFailed):
        logger.error("a roster process died", extra={"fields": {"batch_id": str(job.batch_id)}})
        await _fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
    except asyncio.CancelledError:
        await _fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
        raise
    except Exception as exc:  # the hand-over itself (the database gone meanwhile)
        await _fail_unexpectedly(sessionmaker, job, exc)
    finally:
        upload.close()
    return Finished(applied=False)


async def _lock_on_a_live_connection(session: AsyncSession, batch_id: uuid.UUID) -> None:
    """The batch's lock, taken again once if the pooled connection was dead (the database
    restarted since: the failure renews the whole pool)."""
    try:
        await batches.lock(session, batches.batch_lock(batch_id))
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        await session.rollback()
        await batches.lock(session, batches.batch_lock(batch_id))


def _idle_process(jobs: Jobs) -> Worker | None:
    while jobs.idle:
        process = jobs.idle.pop()
        if process.alive:
            return process
    return None


def _start_process(app: FastAPI) -> Worker:
    engine: AsyncEngine = app.state.engine
    url = engine.url.render_as_string(hide_password=False)
    return Worker(serve_in_process, url, app.state.settings, name="perisai-roster")


def serve_in_process(sock: socket.socket, parent_pid: int, url: str, settings: Settings) -> None:
    """A roster process's life: the batches it is given, one at a time (app/core/workers.py)."""
    workers.detach(parent_pid)
    configure_logging(settings.log_level)
    asyncio.run(_serve(sock, url, settings))


async def _serve(sock: socket.socket, url: str, settings: Settings) -> None:
    engine = engine_for(url, settings, connections=ROSTER_PROCESS_CONNECTIONS)
    env = JobEnv(
        create_sessionmaker(engine), settings.roster_parallel_min_rows, asyncio.Semaphore(1)
    )

    async def handle(
        message: tuple[pipeline.Job, Principal, dict[str, Any]], fd: int | None
    ) -> Finished:
        job, principal, fields = message
        assert fd is not None
        return await work(env, job, Upload(file=os.fdopen(fd, "rb"), **fields), principal)

    try:
        await workers.serve(sock, handle)
    finally:
        await engine.dispose()


async def work(env: JobEnv, job: pipeline.Job, upload: Upload, principal: Principal) -> Finished:
    """Runs the batch (see the module's doc); closes the upload when it ends."""
    sessionmaker = env.sessionmaker
    second: SecondLane | None = None
    try:
        async with sessionmaker() as session:
            await batches.lock(session, batches.batch_lock(job.batch_id))
            async with env.slots:
                if not await _claim(sessionmaker, job.batch_id):
                    return Finished(applied=False)  # ended meanwhile (the sweep's interrupted)
                if _worth_a_second_lane(env, job, upload):
                    chunks = pipeline.second_lane_chunks(upload.newlines + 1)
                    second = await SecondLane.open(sessionmaker, job.batch_id, chunks=chunks)
                started = time.monotonic()
                result = await run_batch(
                    session,
                    principal,
                    job=job,
                    file=upload.file,
                    synchronous=False,
                    progress=_progress(sessionmaker, job.batch_id),
                    second=second,
                )
                await session.commit()
                if second is not None:
                    await second.commit()
                    await _complete(sessionmaker, job.batch_id)
                return Finished(result.applied, result.total_rows, time.monotonic() - started)
    except asyncio.CancelledError:
        await _fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
        raise
    except AppError as exc:
        await _fail(sessionmaker, job, exc.code, exc.detail)
    except Exception as exc:
        await _fail_unexpectedly(sessionmaker, job, exc)
    finally:
        upload.close()
        if second is not None:
            await asyncio.shield(second.close())
    return Finished(applied=False)


def _worth_a_second_lane(env: JobEnv, job: pipeline.Job, upload: Upload) -> bool:
    """A plain upsert of many rows (a text file's line count, a workbook's sheet height; JSON
    bodies are counted only as they are read, so they keep one connection)."""
    if not pipeline.two_lanes_allowed(job):
        return False
    if job.format is RosterFormat.XLSX:
        rows = xlsx_rows.rows_estimate(upload.file, job.sheet)
    else:
        rows = upload.newlines if job.format in TEXT_FORMATS else 0
    return rows >= env.parallel_min_rows


def _progress(
    sessionmaker: async_sessionmaker[AsyncSession], batch_id: uuid.UUID
) -> pipeline.Progress:
    last = 0.0

    async def report(processed: int) -> None:
        nonlocal last
        if time.monotonic() - last < PROGRESS_SECONDS:
            return
        last = time.monotonic()
        async with sessionmaker() as session:
            await batches.set_progress(session, batch_id, processed)
            await session.commit()

    return report


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], batch_id: uuid.UUID) -> bool:
    """Marks the batch `processing` (committed) unless it is no longer `received`."""
    async with sessionmaker() as session:
        claimed = await batches.claim(session, batch_id)
        await session.commit()
        return claimed


async def _complete(sessionmaker: async_sessionmaker[AsyncSession], batch_id: uuid.UUID) -> None:
    """A batch applied on two connections, completed now that both committed. Never raises:
    what it cannot do (the database gone, the second half not yet committed), the sweep does."""
    try:
        async with sessionmaker() as session:
            await complete_applied(session, batch_id)
            await session.commit()
    except Exception as exc:
        logger.warning(
            "a roster's completion was left to the sweep",
            extra={"fields": {"batch_id": str(batch_id), "error": type(exc).__name__}},
        )


async def _fail_unexpectedly(
    sessionmaker: async_sessionmaker[AsyncSession], job: pipeline.Job, exc: Exception
) -> None:
    # The message may quote a row's values: log the type only.
    logger.error(
        "roster batch failed",
        extra={"fields": {"batch_id": str(job.batch_id), "error": type(exc).__name__}},
    )
    await _fail(sessionmaker, job, "internal_error", "The roster could not be processed")


async def _fail(
    sessionmaker: async_sessionmaker[AsyncSession], job: pipeline.Job, code: str, detail: str
) -> None:
    async def record() -> None:
        # Shielded from a cancellation: nobody would retrieve its error, so it keeps none.
        with suppress(Exception):
            await _record_failure(sessionmaker, job, code, detail)

    await asyncio.shield(record())


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession], job: pipeline.Job, code: str, detail: str
) -> None:
    async with sessionmaker() as session:
        if not await batches.fail_unapplied(session, job.batch_id, code=code, detail=detail):
            return
        await events.record(
            session,
            EventType.ROSTER_BATCH_FAILED,
            agreement_id=job.agreement_id,
            **batch_event(job.batch_id, status="failed"),
            error=code,
        )
        await session.commit()


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    errors_retention_hours: int = DEFAULT_ERRORS_RETENTION_HOURS,
) -> list[uuid.UUID]:
    """Settles the prepared second halves whose batch no live process holds (lanes.py),
    completes the batches both of whose halves have committed, marks failed the unfinished
    batches no live process holds (see the module's doc), and purges the
    rejected rows of refused rosters kept longer than `errors_retention_hours`."""
    settled = await resolve_prepared(sessionmaker)
    if settled:
        logger.warning("roster transactions settled", extra={"fields": {"prepared": settled}})
    dropped = await drop_orphan_tables(sessionmaker)
    if dropped:
        logger.warning(
            "staging tables of dead rosters dropped",
            extra={"fields": {"batches": [str(i) for i in dropped]}},
        )
    async with sessionmaker() as session:
        await complete_applied(session)
        interrupted = await batches.fail_interrupted(
            session, older_than_seconds=UNCLAIMED_GRACE_SECONDS
        )
        await events.record_many(
            session,
            EventType.ROSTER_BATCH_FAILED,
            [
                (agreement_id, {**batch_event(batch_id, status="failed"), "error": "interrupted"})
                for batch_id, agreement_id in interrupted
            ],
        )
        purged = await batches.purge_refused_rows(session, older_than_hours=errors_retention_hours)
        await session.commit()
    failed = [batch_id for batch_id, _ in interrupted]
    if failed:
        logger.warning(
            "roster batches interrupted", extra={"fields": {"batches": [str(i) for i in failed]}}
        )
    if purged:
        logger.info(
            "refused rosters' rows purged", extra={"fields": {"batches": [str(i) for i in purged]}}
        )
    return failed


async def _sweep_forever(app: FastAPI) -> None:
    retention = app.state.settings.roster_errors_retention_hours
    while True:
        await asyncio.sleep(app.state.settings.roster_sweep_seconds)
        with suppress(Exception):
            await sweep(app.state.sessionmaker, errors_retention_hours=retention)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Merged into the application's lifespan by the rosters router (after the engine exists).
    The first sweep runs before the first request (the database may be away: then the next)."""
    with suppress(Exception):
        async with asyncio.timeout(STARTUP_SWEEP_TIMEOUT_SECONDS):
            await sweep(app.state.sessionmaker)
    sweeper = asyncio.create_task(_sweep_forever(app), name="roster sweep")
    try:
        yield
    finally:
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        await jobs_of(app).stop()
