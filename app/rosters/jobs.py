"""Large rosters in the background: an asyncio task per batch, and recovery of interrupted ones.

The batch row is committed (`received`) before the task starts. The task holds a transaction
advisory lock on the batch for its whole run, marks it `processing` (committed), then stages and
applies it in ONE transaction that also completes the batch: a crash leaves a batch that says
`processing` and no registration of it. A large one may also use a second connection, whose
prepared transaction commits right after that one (lanes.py); such a batch reads `processing`
(applied) until both have committed, then `completed`. A sweep (at start-up, then every
ROSTER_SWEEP_SECONDS) settles such prepared halves that a dead process left, and marks failed, with
`interrupted`, the unfinished batches whose lock no process holds any more: a `processing` one
at once, a `received` one after a grace period. The start-up sweep runs before the first
request, so a retry with the same Idempotency-Key starts a new batch instead of replaying a
dead one.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.auth import Principal
from app.core.clock import now
from app.core.errors import AppError
from app.core.settings import Settings
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
STARTUP_SWEEP_TIMEOUT_SECONDS = 10
# A `received` batch younger than this may still be between its request's commit and its
# task's lock.
UNCLAIMED_GRACE_SECONDS = 60
PROGRESS_SECONDS = 0.5
DEFAULT_ERRORS_RETENTION_HOURS: int = Settings.model_fields["roster_errors_retention_hours"].default
TEXT_FORMATS = (RosterFormat.CSV, RosterFormat.NDJSON)


@dataclass
class JobStats:
    """What the finished background batches of this process did, for /metrics."""

    batches: dict[str, int] = field(default_factory=lambda: {"completed": 0, "failed": 0})
    rows: int = 0
    last_rows_per_second: float = 0.0

    def finished(self, *, applied: bool, rows: int, seconds: float) -> None:
        self.batches["completed" if applied else "failed"] += 1
        if applied:
            self.rows += rows
            self.last_rows_per_second = rows / seconds if seconds > 0 else 0.0


class Jobs:
    """The background batches of one application."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(MAX_RUNNING_JOBS)
        self.stats = JobStats()

    def start(self, app: FastAPI, job: pipeline.Job, upload: Upload, principal: Principal) -> None:
        task = asyncio.create_task(run(app, job, upload, principal), name=f"roster {job.batch_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


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
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    second: SecondLane | None = None
    stats = jobs_of(app).stats
    try:
        async with sessionmaker() as session:
            await batches.lock(session, batches.batch_lock(job.batch_id))
            async with jobs_of(app).slots:
                await _update(sessionmaker, job.batch_id, status="processing", started_at=now())
                if _worth_a_second_lane(app, job, upload):
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
                stats.finished(
                    applied=result.applied,
                    rows=result.total_rows,
                    seconds=time.monotonic() - started,
                )
    except asyncio.CancelledError:
        stats.finished(applied=False, rows=0, seconds=0)
        await _fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
        raise
    except AppError as exc:
        stats.finished(applied=False, rows=0, seconds=0)
        await _fail(sessionmaker, job, exc.code, exc.detail)
    except Exception as exc:
        # The message may quote a row's values: log the type only.
        stats.finished(applied=False, rows=0, seconds=0)
        logger.error(
            "roster batch failed",
            extra={"fields": {"batch_id": str(job.batch_id), "error": type(exc).__name__}},
        )
        await _fail(sessionmaker, job, "internal_error", "The roster could not be processed")
    finally:
        upload.close()
        if second is not None:
            await asyncio.shield(second.close())


def _worth_a_second_lane(app: FastAPI, job: pipeline.Job, upload: Upload) -> bool:
    """A plain upsert of many rows (a text file's line count, a workbook's sheet height; JSON
    bodies are counted only as they are read, so they keep one connection)."""
    if not pipeline.two_lanes_allowed(job):
        return False
    if job.format is RosterFormat.XLSX:
        rows = xlsx_rows.rows_estimate(upload.file, job.sheet)
    else:
        rows = upload.newlines if job.format in TEXT_FORMATS else 0
    return bool(rows >= app.state.settings.roster_parallel_min_rows)


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


async def _update(
    sessionmaker: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, **values: Any
) -> None:
    async with sessionmaker() as session:
        await batches.set_batch(session, batch_id, **values)
        await session.commit()


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
