"""Processing one roster file: read and validate in a worker thread, COPY, decide, apply.

Memory stays flat: the file is read a chunk at a time, each chunk is validated off the event
loop while the previous one is copied into the staging table, and only the database ever
holds the whole roster. Everything happens in the caller's transaction; the caller commits.

The whole file is staged before anything is decided or applied, and the new registrations go
in with one INSERT ... SELECT in NIK order. Applying chunk by chunk while reading was tried
and measured (bench/bench_rosters.py, 1,000,000 rows): each chunk sweeps every NIK-keyed
index page again, and once those indexes outgrow shared_buffers the inserts took 1.7x longer
than one sorted INSERT, far more than the reading it would have hidden.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any, BinaryIO

import asyncpg
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.collector import collector_paused
from app.core.errors import Conflict
from app.rosters import repository
from app.rosters.parsing import RosterFormat, RosterReader
from app.rosters.repository import StageTables
from app.rosters.validation import ChunkResult, RosterContext, RowValidator

logger = logging.getLogger("perisai.rosters")

CHUNK_ROWS = 20_000
ANALYZE_ABOVE_ROWS = 20_000
APPLY_ATTEMPTS = 4
# A concurrent batch committed an overlapping registration between our decide and our apply,
# or the two deadlocked: decide again against what is now committed.
RETRYABLE = (
    asyncpg.exceptions.ExclusionViolationError,
    asyncpg.exceptions.UniqueViolationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)

Progress = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    """What to do with one uploaded file."""

    batch_id: uuid.UUID
    agreement_id: uuid.UUID
    format: RosterFormat
    sheet: str | None
    mode: str
    atomic: bool
    as_of: date


@dataclass(slots=True)
class Result:
    counts: dict[str, int]
    warnings: list[dict[str, Any]]
    applied: bool
    total_rows: int
    columns: list[str]
    delimiter: str | None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inspection:
    rows: int = field(metadata={"doc": "rows counted, at most `limit` + 1"})
    options: dict[str, object] = field(default_factory=dict)


def inspect(file: BinaryIO, fmt: RosterFormat, sheet: str | None, limit: int) -> Inspection:
    """Counts the rows up to limit + 1 (enough to choose the synchronous or background path)
    and reads the JSON body's options; blocking, so call it in a worker thread."""
    file.seek(0)
    reader = RosterReader(file, fmt, sheet=sheet)
    try:
        rows = sum(1 for _ in islice(reader, limit + 1))
        return Inspection(rows, dict(reader.options))
    finally:
        reader.close()


async def process(
    session: AsyncSession,
    *,
    job: Job,
    file: BinaryIO,
    context: RosterContext,
    progress: Progress | None = None,
) -> Result:
    started = time.perf_counter()
    connection = await repository.raw_connection(session)
    tables = StageTables.for_batch(job.batch_id)
    # Sorts and hashes over a million staged rows stay in memory instead of spilling to disk.
    await connection.execute("SET LOCAL work_mem = '256MB'")
    await repository.create_stage(connection, tables)

    file.seek(0)
    reader = RosterReader(file, job.format, sheet=job.sheet)
    # Parsing and validation make a few objects per row, none in a cycle; collections they
    # would set off walk the whole heap (half the staging CPU at 200,000 rows).
    with collector_paused():
        total, touched, copy_seconds = await _stage(
            connection, tables, reader, RowValidator(context), progress
        )
    read_seconds = time.perf_counter() - started
    if total > ANALYZE_ABOVE_ROWS:
        await repository.analyze_stage(connection, tables)

    # Batches of one agreement run one after the other; across agreements they may race, and
    # the exclusion constraint settles it (see RETRYABLE).
    await repository.lock(session, f"roster_agreement:{job.agreement_id}")
    cohort_ids = sorted(touched)
    counts, applied, seconds = await _decide_and_apply(connection, tables, job, cohort_ids)
    await repository.store_problem_rows(connection, tables, batch_id=job.batch_id, held=applied)
    warnings = await repository.over_planned(connection, cohort_ids) if applied else []
    finished = time.perf_counter()
    return Result(
        counts=counts,
        warnings=warnings,
        applied=applied,
        total_rows=total,
        columns=reader.columns,
        delimiter=reader.delimiter if job.format is RosterFormat.CSV else None,
        timings={
            "read_seconds": round(read_seconds, 3),
            "copy_seconds": round(copy_seconds, 3),
            **{name: round(value, 3) for name, value in seconds.items()},
            "total_seconds": round(finished - started, 3),
        },
    )


async def _stage(
    connection: asyncpg.Connection,
    tables: StageTables,
    reader: RosterReader,
    validator: RowValidator,
    progress: Progress | None,
) -> tuple[int, set[uuid.UUID], float]:
    """Reads and validates the file in a worker thread, a chunk ahead of the COPY."""
    chunks = reader.batches(CHUNK_ROWS)

    def next_chunk() -> ChunkResult | None:
        rows = next(chunks, None)
        return None if rows is None else validator.validate(rows)

    total = 0
    copy_seconds = 0.0
    touched: set[uuid.UUID] = set()
    pending: asyncio.Future[ChunkResult | None] = asyncio.ensure_future(
        to_thread.run_sync(next_chunk)
    )
    try:
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(to_thread.run_sync(next_chunk))
            clock = time.perf_counter()
            await repository.copy_rows(connection, tables.stage, chunk.records)
            copy_seconds += time.perf_counter() - clock
            total += len(chunk.records)
            touched |= chunk.touched_cohorts
            if progress is not None:
                await progress(total)
    finally:
        if not pending.done():
            # The thread owns the reader until it returns; let it finish before closing.
            await asyncio.gather(pending, return_exceptions=True)
        reader.close()
    return total, touched, copy_seconds


async def _decide_and_apply(
    connection: asyncpg.Connection, tables: StageTables, job: Job, cohort_ids: list[uuid.UUID]
) -> tuple[dict[str, int], bool, dict[str, float]]:
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        await connection.execute("SAVEPOINT roster_apply")
        clock = time.perf_counter()
        seconds: dict[str, float] = {}
        try:
            await repository.decide(connection, tables)
            counts = await repository.count_outcomes(connection, tables)
            seconds["decide_seconds"] = time.perf_counter() - clock
            refused = job.atomic and counts.get("rejected", 0) > 0
            if not refused:
                clock = time.perf_counter()
                await repository.apply(
                    connection, tables, batch_id=job.batch_id, agreement_id=job.agreement_id
                )
                if job.mode == "replace":
                    counts["terminated"] = await repository.terminate_missing(
                        connection,
                        tables,
                        agreement_id=job.agreement_id,
                        cohort_ids=cohort_ids,
                        as_of=job.as_of,
                    )
                seconds["apply_seconds"] = time.perf_counter() - clock
        except RETRYABLE as exc:
            await connection.execute("ROLLBACK TO SAVEPOINT roster_apply")
            logger.info(
                "roster apply collided with a concurrent batch, deciding again",
                extra={
                    "fields": {
                        "batch_id": str(job.batch_id),
                        "attempt": attempt,
                        "sqlstate": exc.sqlstate,
                    }
                },
            )
            continue
        await connection.execute("RELEASE SAVEPOINT roster_apply")
        seconds["attempts"] = attempt
        return counts, not refused, seconds
    raise Conflict(
        "Concurrent rosters kept changing the same officers; send this roster again",
        code="roster_conflict",
    )
