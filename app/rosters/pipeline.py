"""Processing one roster file: read and validate in a worker thread, COPY, decide, apply.

Memory stays flat: the file is read a chunk at a time, each chunk is validated off the event
loop, and only the database ever holds the whole roster. Everything happens in the caller's
transaction; the caller commits.

A chunk is decided and applied as soon as it is staged, while the thread reads the next one,
so that the database's work (the bigger share: its indexes and the exclusion constraint) and
Python's overlap. Two things would make a chunk's outcome depend on later rows, and are
settled first or last instead: a NIK given twice in the file rejects every row with it, so the
NIK column is read once before anything else (survey.survey_file); and a replacement (PAW) must
find the replaced officer as they were before the roster, so replacing rows are settled after
all the others. atomic=true stages the whole file before deciding anything, as one rejected
row must leave everything unapplied.

Given a second connection (lanes.py), a plain upsert's chunks alternate between the two, each
with its own staging tables (the second one's made before its transaction, with a fresh chunk
table for each chunk: repository/staging.py says why): a NIK the file gives once is in one
chunk, and one it gives twice is rejected wherever it is, so the two transactions never touch
the same registrations; the counts, problem rows and warnings add up both.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain, cycle
from typing import Any, BinaryIO

import asyncpg
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.collector import collector_paused
from app.core.database import driver_connection
from app.core.errors import Conflict
from app.rosters.lanes import SecondLane
from app.rosters.messages import clean
from app.rosters.parsing import RosterFormat, RosterReader
from app.rosters.repository import apply, batches, decide, lookups, staging
from app.rosters.repository.staging import StageTables
from app.rosters.survey import survey_file
from app.rosters.validation import ChunkResult, RosterContext, RowValidator

logger = logging.getLogger("perisai.rosters")

CHUNK_ROWS = 20_000
ANALYZE_ABOVE_ROWS = 20_000
APPLY_ATTEMPTS = 4
# The outcomes that add an active registration to a cohort.
NEWLY_ACTIVE = frozenset({"created", "replaced"})
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


@dataclass(slots=True)
class Lane:
    """A connection with its own staging tables, in a transaction of its own. `fresh`: the
    second connection's chunk tables still unused (a new one per chunk, never emptied)."""

    connection: asyncpg.Connection
    tables: StageTables
    temporary: bool = True
    settling: "asyncio.Task[None] | None" = None
    analyzed: bool = False
    fresh: list[str] | None = None

    def has_room(self) -> bool:
        return self.fresh is None or bool(self.fresh)

    async def start_chunk(self) -> StageTables:
        """The tables with an empty chunk table, for the next chunk."""
        if self.fresh is None:
            await staging.start_chunk(self.connection, self.tables)
        else:
            self.tables = replace(self.tables, chunk=self.fresh.pop(0))
        return self.tables


def second_lane_chunks(rows: int) -> int:
    """How many chunks a second connection takes, at most, of a file of at most `rows` rows
    (every other one)."""
    return -(-rows // CHUNK_ROWS) // 2 + 1


async def process(
    session: AsyncSession,
    *,
    job: Job,
    file: BinaryIO,
    context: RosterContext,
    progress: Progress | None = None,
    second: SecondLane | None = None,
) -> Result:
    """With `second`, a plain upsert's chunks alternate between the two connections, and the
    second one's transaction is prepared at the end (the caller commits it after its own)."""
    clock = Clock()
    survey = await to_thread.run_sync(survey_file, file, job.format, job.sheet, context.roles)
    lanes = [Lane(await driver_connection(session), StageTables.for_batch(job.batch_id))]
    if second is not None and two_lanes_allowed(job) and not survey.replacements:
        lanes.append(
            Lane(second.connection, second.tables, temporary=False, fresh=list(second.chunks))
        )
        await lookups.lock_agreement_status(second.connection, job.agreement_id)
    for lane in lanes:
        # Sorts and hashes over a million staged rows stay in memory instead of on disk.
        await lane.connection.execute("SET LOCAL work_mem = '256MB'")
        if lane.temporary:
            await staging.create_stage(lane.connection, lane.tables)
        await staging.copy_duplicates(lane.connection, lane.tables, survey.duplicates)
    clock.lap("survey_seconds")

    # Batches of one agreement run one after the other; across agreements they may race, and
    # the exclusion constraint settles it (see RETRYABLE).
    await batches.lock(session, f"roster_agreement:{job.agreement_id}")
    file.seek(0)
    reader = RosterReader(file, job.format, context.roles, sheet=job.sheet)
    # Parsing and validation make a few objects per row, none in a cycle; collections they
    # would set off walk the whole heap (half the staging CPU at 200,000 rows).
    with collector_paused():
        validator = RowValidator(context, lambda: reader.columns)
        total, touched, warned = await _stage(lanes, reader, validator, job, progress, clock)
    clock.lap("stage_seconds")

    main = lanes[0]
    if job.atomic:
        applied = await _settle_whole_file(main, job, clock, total, survey.replacements)
    else:
        applied = True
        if await staging.settle_replacements_last(main.connection, main.tables):
            await _settle(main, job, main.tables.chunk, clock, replacements=True)
    counts, warnings = await _finish(
        lanes, job, sorted(touched), applied=applied, warned=warned > 0
    )
    if len(lanes) > 1:
        assert second is not None
        await second.prepare()
    clock.lap("finish_seconds")
    return Result(
        counts=counts,
        warnings=warnings,
        applied=applied,
        total_rows=total,
        columns=[clean(column) for column in reader.columns],
        delimiter=reader.delimiter if job.format is RosterFormat.CSV else None,
        timings={**clock.timings(), "connections": len(lanes)},
    )


def two_lanes_allowed(job: Job) -> bool:
    """A plain upsert: atomic and replace mode decide over the whole file, on one connection
    (and so do files with replacements, found by the survey)."""
    return not job.atomic and job.mode == "upsert"


async def _finish(
    lanes: list[Lane], job: Job, cohort_ids: list[uuid.UUID], *, applied: bool, warned: bool
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Once every row is settled: replace mode's terminations, the counts, the problem rows
    and the headcount warnings."""
    duplicates: list[tuple[int, int]] = []
    for lane in lanes:
        duplicates += await decide.duplicate_rows(lane.connection, lane.tables)
    tallies: list[list[decide.Tally]] = []
    for lane in lanes:
        await decide.describe_duplicates(lane.connection, lane.tables, duplicates)
        tallies.append(await decide.count_outcomes(lane.connection, lane.tables))
        await apply.store_problem_rows(
            lane.connection, lane.tables, batch_id=job.batch_id, held=applied
        )
    counts: dict[str, int] = {}
    for tally in chain.from_iterable(tallies):
        counts[tally.outcome] = counts.get(tally.outcome, 0) + tally.rows
    main = lanes[0]
    if applied and job.mode == "replace":
        counts["terminated"] = await apply.terminate_missing(
            main.connection,
            main.tables,
            agreement_id=job.agreement_id,
            batch_id=job.batch_id,
            cohort_ids=cohort_ids,
            as_of=job.as_of,
        )
    # Only when validation saw any: counting them reads the whole stage once more.
    nik_warnings = await _nik_warnings(lanes) if warned else []
    if not applied:
        return counts, nik_warnings
    # What the main connection cannot see yet: the other lanes' new active registrations.
    unseen: dict[uuid.UUID, int] = {}
    for tally in chain.from_iterable(tallies[1:]):
        if tally.cohort_id is not None and tally.outcome in NEWLY_ACTIVE:
            unseen[tally.cohort_id] = unseen.get(tally.cohort_id, 0) + tally.rows
    over = await apply.over_planned(main.connection, cohort_ids, unseen=unseen)
    return counts, over + nik_warnings


async def _nik_warnings(lanes: list[Lane]) -> list[dict[str, Any]]:
    """One warning per NIK warning code of the rows taken: how many, and the first rows."""
    by_code: dict[str, tuple[int, list[int]]] = {}
    for lane in lanes:
        for row in await apply.nik_warnings(lane.connection, lane.tables):
            rows, first = by_code.get(row["code"], (0, []))
            by_code[row["code"]] = (rows + row["rows"], first + list(row["first"]))
    return [
        {"code": code, "rows": rows, "row_numbers": sorted(first)[: apply.WARNED_ROWS_SHOWN]}
        for code, (rows, first) in sorted(by_code.items())
    ]


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


async def _settle_chunk(lane: Lane, job: Job, clock: Clock, rows: int) -> None:
    """Decides and applies the chunk just staged (all but its replacements, settled last)."""
    await staging.keep_chunk(lane.connection, lane.tables)
    if not lane.analyzed and rows >= ANALYZE_ABOVE_ROWS:
        await staging.analyze(lane.connection, lane.tables.chunk)
        lane.analyzed = True
    await _settle(lane, job, lane.tables.chunk, clock)


async def _stage(
    lanes: list[Lane],
    reader: RosterReader,
    validator: RowValidator,
    job: Job,
    progress: Progress | None,
    clock: Clock,
) -> tuple[int, set[uuid.UUID], int]:
    """Reads and validates the file in a worker thread, a chunk ahead; unless atomic, each
    chunk is decided and applied, by the lanes in turn, while the next one is read."""
    chunks = reader.batches(CHUNK_ROWS)

    def next_chunk() -> ChunkResult | None:
        rows = next(chunks, None)
        return None if rows is None else validator.validate(rows)

    total = 0
    touched: set[uuid.UUID] = set()
    warned = 0
    pending: asyncio.Future[ChunkResult | None] = asyncio.ensure_future(
        to_thread.run_sync(next_chunk)
    )
    turns = cycle(lanes)
    try:
        while (chunk := await pending) is not None:
            # The next chunk is validated while this one waits for its lane: a thread
            # validating beside the COPY (which encodes in Python) would slow both.
            pending = asyncio.ensure_future(to_thread.run_sync(next_chunk))
            lane = next(lane for lane in turns if lane.has_room())
            if lane.settling is not None:
                await lane.settling
            started = time.perf_counter()
            if job.atomic:
                await staging.copy_rows(lane.connection, lane.tables.stage, chunk.records)
            else:
                tables = await lane.start_chunk()
                await staging.copy_rows(lane.connection, tables.chunk, chunk.records)
            clock.add("copy_seconds", time.perf_counter() - started)
            if not job.atomic:
                lane.settling = asyncio.create_task(
                    _settle_chunk(lane, job, clock, len(chunk.records))
                )
            total += len(chunk.records)
            touched |= chunk.touched_cohorts
            warned += chunk.warned
            if progress is not None:
                await progress(total)
        for lane in lanes:
            if lane.settling is not None:
                await lane.settling
    finally:
        # The thread owns the reader until it returns, and a lane's connection is its
        # settling's until that ends: let both finish before anything else uses them.
        unfinished: list[asyncio.Future[Any]] = [
            lane.settling for lane in lanes if lane.settling is not None
        ]
        if not pending.done():
            unfinished.append(pending)
        await asyncio.gather(*unfinished, return_exceptions=True)
        reader.close()
    return total, touched, warned


async def _settle_whole_file(
    lane: Lane, job: Job, clock: Clock, rows: int, replacements: bool
) -> bool:
    """atomic=true: the whole file is decided before anything is applied; any rejected row
    and nothing is. Whether it was applied."""
    if rows > ANALYZE_ABOVE_ROWS:
        await staging.analyze(lane.connection, lane.tables.stage)
    return await _settle(
        lane, job, lane.tables.stage, clock, atomic=True, replacements=replacements
    )


async def _settle(
    lane: Lane,
    job: Job,
    source: str,
    clock: Clock,
    *,
    atomic: bool = False,
    replacements: bool = False,
) -> bool:
    """Decides and applies the rows of `source` in a savepoint, again from there when a
    concurrent batch collides; False when atomic and some row of the file is rejected."""
    connection, tables = lane.connection, lane.tables
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        await connection.execute("SAVEPOINT roster_apply")
        try:
            started = time.perf_counter()
            changes = await decide.outcomes(
                connection,
                tables,
                source=source,
                batch_id=job.batch_id,
                replacements=replacements,
            )
            refused = atomic and any(
                t.outcome == "rejected" for t in await decide.count_outcomes(connection, tables)
            )
            decided = time.perf_counter()
            clock.add("decide_seconds", decided - started)
            if not refused:
                await apply.outcomes(
                    connection,
                    tables,
                    source=source,
                    batch_id=job.batch_id,
                    agreement_id=job.agreement_id,
                    plain=not changes,
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
