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
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.auth import Principal
from app.core.clock import in_background
from app.core.errors import is_database_unavailable
from app.core.settings import Settings
from app.core.workers import Worker, WorkerFailed, WorkerGone
from app.events import service as events
from app.events.types import EventType
from app.rosters import pipeline
from app.rosters.lanes import drop_orphan_tables, resolve_prepared
from app.rosters.repository import batches
from app.rosters.runner import batch_event, complete_applied
from app.rosters.upload import Upload
from app.rosters.work import (
    ROSTER_PROCESS_NAME,
    Finished,
    JobEnv,
    fail,
    fail_unexpectedly,
    serve_in_process,
    work,
)

logger = logging.getLogger("perisai.rosters")

MAX_RUNNING_JOBS = 2
STARTUP_SWEEP_TIMEOUT_SECONDS = 10
# A `received` batch younger than this may still be between its request's commit and its
# task's lock.
UNCLAIMED_GRACE_SECONDS = 60
DEFAULT_ERRORS_RETENTION_HOURS: int = Settings.model_fields["roster_errors_retention_hours"].default


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
        await fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
    except asyncio.CancelledError:
        await fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
        raise
    except Exception as exc:  # the hand-over itself (the database gone meanwhile)
        await fail_unexpectedly(sessionmaker, job, exc)
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
    return Worker(serve_in_process, url, app.state.settings, name=ROSTER_PROCESS_NAME)


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
    try:
        async with in_background(_sweep_forever(app), "roster sweep"):
            yield
    finally:
        await jobs_of(app).stop()
