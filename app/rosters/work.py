"""One background roster batch, wherever it runs: in the server's loop (the tests' apps) or in
a roster process (app/core/workers.py), whose life is here too. jobs.py queues the batches and
hands them over; see its doc for the locks and the sweep."""

import asyncio
import logging
import os
import socket
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import workers
from app.core.auth import Principal
from app.core.database import create_sessionmaker, engine_for
from app.core.errors import AppError
from app.core.observability import configure_logging
from app.core.settings import Settings
from app.events import service as events
from app.events.types import EventType
from app.rosters import pipeline
from app.rosters.lanes import SecondLane
from app.rosters.parsing import RosterFormat, xlsx_rows
from app.rosters.repository import batches
from app.rosters.runner import batch_event, complete_applied, run_batch
from app.rosters.upload import Upload

logger = logging.getLogger("perisai.rosters")

# A roster process's pool: the batch's own transaction, and its progress (or claim, or
# completion) beside it; the second lane connects on its own.
ROSTER_PROCESS_CONNECTIONS = 3
PROGRESS_SECONDS = 0.5
ROSTER_PROCESS_NAME = "perisai-roster"
TEXT_FORMATS = (RosterFormat.CSV, RosterFormat.NDJSON)


@dataclass(frozen=True, slots=True)
class Finished:
    """What a background batch came to, for /metrics."""

    applied: bool
    rows: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class JobEnv:
    """What a batch's work needs of where it runs: the server's app or a roster process."""

    sessionmaker: async_sessionmaker[AsyncSession]
    parallel_min_rows: int
    slots: asyncio.Semaphore


def serve_in_process(sock: socket.socket, parent_pid: int, url: str, settings: Settings) -> None:
    """A roster process's life: the batches it is given, one at a time (app/core/workers.py)."""
    workers.detach(parent_pid, ROSTER_PROCESS_NAME)
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
        await fail(sessionmaker, job, "interrupted", batches.INTERRUPTED_DETAIL)
        raise
    except AppError as exc:
        await fail(sessionmaker, job, exc.code, exc.detail)
    except Exception as exc:
        await fail_unexpectedly(sessionmaker, job, exc)
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


async def fail_unexpectedly(
    sessionmaker: async_sessionmaker[AsyncSession], job: pipeline.Job, exc: Exception
) -> None:
    # The message may quote a row's values: log the type only.
    logger.error(
        "roster batch failed",
        extra={"fields": {"batch_id": str(job.batch_id), "error": type(exc).__name__}},
    )
    await fail(sessionmaker, job, "internal_error", "The roster could not be processed")


async def fail(
    sessionmaker: async_sessionmaker[AsyncSession], job: pipeline.Job, code: str, detail: str
) -> None:
    """Marks the batch failed with `code` (unless it was applied) and announces it; never
    raises, and finishes even when the job is being cancelled."""

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
