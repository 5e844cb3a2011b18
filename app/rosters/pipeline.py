"""Processing one roster file: read and validate in a worker thread, COPY, decide, apply.

Memory stays flat: the file is read a chunk at a time, each chunk is validated off the event
loop, and only the database ever holds the whole roster. Everything happens in the caller's
transaction; the caller commits.

A chunk is decided and applied as soon as it is staged, while the thread reads the next one,
so that the database's work (the bigger share: its indexes and the exclusion constraint) and
Python's overlap. Two things would make a chunk's outcome depend on later rows, and are
settled first or last instead: a NIK given twice in the file rejects every row with it, so the
NIK column is read once before anything else (duplicate_niks); and a replacement (PAW) must
find the replaced officer as they were before the roster, so replacing rows are settled after
all the others. atomic=true stages the whole file before deciding anything, as one rejected
row must leave everything unapplied.
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
from app.nik import nik_to_int
from app.rosters import repository
from app.rosters.parsing import RosterFileError, RosterFormat, RosterReader
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
    clock = Clock()
    connection = await repository.raw_connection(session)
    tables = StageTables.for_batch(job.batch_id)
    # Sorts and hashes over a million staged rows stay in memory instead of spilling to disk.
    await connection.execute("SET LOCAL work_mem = '256MB'")
    await repository.create_stage(connection, tables)
    duplicates = await to_thread.run_sync(duplicate_niks, file, job.format, job.sheet)
    await repository.copy_duplicates(connection, tables, duplicates)
    clock.lap("duplicates_seconds")

    # Batches of one agreement run one after the other; across agreements they may race, and
    # the exclusion constraint settles it (see RETRYABLE).
    await repository.lock(session, f"roster_agreement:{job.agreement_id}")
    file.seek(0)
    reader = RosterReader(file, job.format, sheet=job.sheet)
    settle = None if job.atomic else _settle_chunk(connection, tables, job, clock)
    # Parsing and validation make a few objects per row, none in a cycle; collections they
    # would set off walk the whole heap (half the staging CPU at 200,000 rows).
    with collector_paused():
        total, touched = await _stage(
            connection, tables, reader, RowValidator(context), progress, clock, settle
        )
    clock.lap("stage_seconds")

    if job.atomic:
        applied = await _settle_whole_file(connection, tables, job, clock)
    else:
        applied = True
        if await repository.settle_replacements_last(connection, tables):
            await _settle(connection, tables, job, tables.chunk, clock)
    counts, warnings = await _finish(connection, tables, job, sorted(touched), applied=applied)
    clock.lap("finish_seconds")
    return Result(
        counts=counts,
        warnings=warnings,
        applied=applied,
        total_rows=total,
        columns=reader.columns,
        delimiter=reader.delimiter if job.format is RosterFormat.CSV else None,
        timings=clock.timings(),
    )


async def _finish(
    connection: asyncpg.Connection,
    tables: StageTables,
    job: Job,
    cohort_ids: list[uuid.UUID],
    *,
    applied: bool,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Once every row is settled: replace mode's terminations, the counts, the problem rows
    and the headcount warnings."""
    await repository.describe_duplicates(connection, tables)
    counts = await repository.count_outcomes(connection, tables)
    if applied and job.mode == "replace":
        counts["terminated"] = await repository.terminate_missing(
            connection,
            tables,
            agreement_id=job.agreement_id,
            cohort_ids=cohort_ids,
            as_of=job.as_of,
        )
    await repository.store_problem_rows(connection, tables, batch_id=job.batch_id, held=applied)
    warnings = await repository.over_planned(connection, cohort_ids) if applied else []
    return counts, warnings


def duplicate_niks(file: BinaryIO, fmt: RosterFormat, sheet: str | None) -> list[int]:
    """The NIKs that more than one row of the file gives; blocking, so call it in a thread.

    Read before anything is applied, so that a chunk can be applied as soon as it is staged:
    every row with such a NIK is rejected, the first one too."""
    file.seek(0)
    seen: set[int] = set()
    repeated: set[int] = set()
    reader = RosterReader(file, fmt, sheet=sheet)
    try:
        for text in reader.nik_texts():
            nik = nik_to_int(text)
            if nik is None:
                continue
            if nik in seen:
                repeated.add(nik)
            else:
                seen.add(nik)
    except RosterFileError:
        pass  # the reading proper stops at the same place and says where
    finally:
        reader.close()
    return sorted(repeated)


class Clock:
    """Wall seconds per step of a batch, summed when a step recurs (one per chunk)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}
        self.attempts = 1

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.add(name, now - self.last)
        self.last = now

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def timings(self) -> dict[str, float]:
        total = time.perf_counter() - self.started
        rounded = {name: round(value, 3) for name, value in self.seconds.items()}
        return {**rounded, "attempts": self.attempts, "total_seconds": round(total, 3)}


Settle = Callable[[int], Awaitable[None]]


def _settle_chunk(
    connection: asyncpg.Connection, tables: StageTables, job: Job, clock: Clock
) -> Settle:
    """Decides and applies the chunk just staged (all but its replacements, settled last)."""
    analyzed = False

    async def settle(rows: int) -> None:
        nonlocal analyzed
        await repository.keep_chunk(connection, tables)
        if not analyzed and rows >= ANALYZE_ABOVE_ROWS:
            await repository.analyze(connection, tables.chunk)
            analyzed = True
        await _settle(connection, tables, job, tables.chunk, clock)

    return settle


async def _stage(
    connection: asyncpg.Connection,
    tables: StageTables,
    reader: RosterReader,
    validator: RowValidator,
    progress: Progress | None,
    clock: Clock,
    settle: Settle | None,
) -> tuple[int, set[uuid.UUID]]:
    """Reads and validates the file in a worker thread, a chunk ahead; with `settle`, each
    chunk is decided and applied while the next one is read."""
    chunks = reader.batches(CHUNK_ROWS)

    def next_chunk() -> ChunkResult | None:
        rows = next(chunks, None)
        return None if rows is None else validator.validate(rows)

    total = 0
    touched: set[uuid.UUID] = set()
    pending: asyncio.Future[ChunkResult | None] = asyncio.ensure_future(
        to_thread.run_sync(next_chunk)
    )
    try:
        while (chunk := await pending) is not None:
            started = time.perf_counter()
            if settle is None:
                await repository.copy_rows(connection, tables.stage, chunk.records)
            else:
                await repository.start_chunk(connection, tables)
                await repository.copy_rows(connection, tables.chunk, chunk.records)
            clock.add("copy_seconds", time.perf_counter() - started)
            # Only now: a thread validating beside the COPY (which encodes in Python) would
            # slow both; beside the settling, which waits on the database, it costs nothing.
            pending = asyncio.ensure_future(to_thread.run_sync(next_chunk))
            total += len(chunk.records)
            touched |= chunk.touched_cohorts
            if settle is not None:
                await settle(len(chunk.records))
            if progress is not None:
                await progress(total)
    finally:
        if not pending.done():
            # The thread owns the reader until it returns; let it finish before closing.
            await asyncio.gather(pending, return_exceptions=True)
        reader.close()
    return total, touched


async def _settle_whole_file(
    connection: asyncpg.Connection, tables: StageTables, job: Job, clock: Clock
) -> bool:
    """atomic=true: the whole file is decided before anything is applied; any rejected row
    and nothing is. Whether it was applied."""
    if await repository.count_staged(connection, tables) > ANALYZE_ABOVE_ROWS:
        await repository.analyze(connection, tables.stage)
    return await _settle(connection, tables, job, tables.stage, clock, atomic=True)


async def _settle(
    connection: asyncpg.Connection,
    tables: StageTables,
    job: Job,
    source: str,
    clock: Clock,
    *,
    atomic: bool = False,
) -> bool:
    """Decides and applies the rows of `source` in a savepoint, again from there when a
    concurrent batch collides; False when atomic and some row of the file is rejected."""
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        await connection.execute("SAVEPOINT roster_apply")
        try:
            started = time.perf_counter()
            await repository.decide(connection, tables, source=source, batch_id=job.batch_id)
            refused = atomic and await repository.any_rejected(connection, tables)
            decided = time.perf_counter()
            clock.add("decide_seconds", decided - started)
            if not refused:
                await repository.apply(
                    connection,
                    tables,
                    source=source,
                    batch_id=job.batch_id,
                    agreement_id=job.agreement_id,
                )
                clock.add("apply_seconds", time.perf_counter() - decided)
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
        clock.attempts = max(clock.attempts, attempt)
        return not refused
    raise Conflict(
        "Concurrent rosters kept changing the same officers; send this roster again",
        code="roster_conflict",
    )
