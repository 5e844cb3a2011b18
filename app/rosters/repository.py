"""SQL of the rosters domain: batches, the staging tables, and the set-based decide and apply.

A roster is staged with COPY into temporary tables of the batch's transaction: `chunk` (the
rows being settled now), `stage` (every row of the file: the typed fields of a valid row, or
the codes of a rejected one, and the original cells), `outcome` (one row per staged row whose
outcome is not simply `created`) and `duplicates` (the NIKs the file holds more than once).
The outcomes of a chunk's rows are decided by a few statements, and applied by one UPDATE for
replacements, one for updates and one INSERT ... SELECT for new registrations, in NIK order so
that concurrent batches take their index locks in the same order.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import case, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    COVERING_SQL,
    Agreement,
    Cohort,
    Election,
    Region,
    Role,
    RoleAgeLimit,
    RosterBatch,
    RosterBatchRow,
)

# nik_text is the NIK as written, kept for rejected rows only: a valid one is nik::text.
STAGE_COLUMNS = (
    "row_number",
    "nik",
    "nik_text",
    "codes",
    "messages",
    "original",
    "cohort_id",
    "role_code",
    "position",
    "full_name",
    "birth_date",
    "sex",
    "phone",
    "region_code",
    "tps",
    "coverage_start",
    "coverage_end",
    "replaces_nik",
    "nik_warnings",
)
DUPLICATE_NIK = "duplicate_nik_in_file"
NIL_UUID = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class StageTables:
    stage: str
    outcome: str
    known: str
    chunk: str
    duplicates: str

    @classmethod
    def for_batch(cls, batch_id: uuid.UUID) -> "StageTables":
        # Names made of a UUID's hex only: safe to put in SQL text.
        return cls(
            f"roster_stage_{batch_id.hex}",
            f"roster_outcome_{batch_id.hex}",
            f"roster_known_{batch_id.hex}",
            f"roster_chunk_{batch_id.hex}",
            f"roster_duplicates_{batch_id.hex}",
        )


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


# ---------------------------------------------------------------------------------------------
# Reference data and the agreement


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement | None:
    return await session.get(Agreement, agreement_id)


async def lock_agreement_status(
    connection: asyncpg.Connection, agreement_id: uuid.UUID
) -> str | None:
    """The agreement's status, share-locked until commit: it cannot end while a roster lands
    (on each connection a roster writes with)."""
    status: str | None = await connection.fetchval(
        "SELECT status FROM agreements WHERE id = $1 FOR SHARE", agreement_id
    )
    return status


async def cohorts_of(session: AsyncSession, agreement_id: uuid.UUID) -> list[Any]:
    """Each cohort with its election's voting day and the age limits that apply to it."""
    stmt = (
        select(
            Cohort.id,
            Cohort.role_code,
            Cohort.coverage_start,
            Cohort.coverage_end,
            Election.voting_day,
            func.coalesce(RoleAgeLimit.min_age, Role.min_age).label("min_age"),
            case(
                (RoleAgeLimit.role_code.is_not(None), RoleAgeLimit.max_age), else_=Role.max_age
            ).label("max_age"),
        )
        .join(Election, Election.code == Cohort.election_code)
        .join(Role, Role.code == Cohort.role_code)
        .outerjoin(
            RoleAgeLimit,
            (RoleAgeLimit.election_code == Cohort.election_code)
            & (RoleAgeLimit.role_code == Cohort.role_code),
        )
        .where(Cohort.agreement_id == agreement_id)
        .order_by(Cohort.coverage_start)
    )
    return list((await session.execute(stmt)).all())


async def role_levels(session: AsyncSession) -> dict[str, str]:
    return {code: level for code, level in (await session.execute(select(Role.code, Role.level)))}


async def all_regions(session: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await session.execute(select(Region.code, Region.name, Region.level))
    return [(code, name, level) for code, name, level in rows]


# ---------------------------------------------------------------------------------------------
# Batches


async def find_batch_by_key(
    session: AsyncSession, organization_id: uuid.UUID | None, key: str
) -> RosterBatch | None:
    stmt = select(RosterBatch).where(
        RosterBatch.idempotency_key == key,
        text(
            "COALESCE(roster_batches.organization_id, "
            "'00000000-0000-0000-0000-000000000000'::uuid) = :org"
        ).bindparams(org=organization_id or NIL_UUID),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def try_lock(session: AsyncSession, name: str) -> bool:
    """A transaction-scoped advisory lock on `name`, without waiting."""
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
    )
    return bool(locked)


async def lock(session: AsyncSession, name: str) -> None:
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
    )


async def release_key(session: AsyncSession, batch_id: uuid.UUID) -> None:
    await session.execute(
        update(RosterBatch)
        .where(RosterBatch.id == batch_id)
        .values(idempotency_key=None, updated_at=text("now()"))
    )


async def get_batch(session: AsyncSession, batch_id: uuid.UUID) -> RosterBatch | None:
    return await session.get(RosterBatch, batch_id, populate_existing=True)


async def set_batch(session: AsyncSession, batch_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        update(RosterBatch)
        .where(RosterBatch.id == batch_id)
        .values(**values, updated_at=text("now()"))
        .execution_options(synchronize_session=False)
    )


async def set_progress(session: AsyncSession, batch_id: uuid.UUID, processed: int) -> None:
    await session.execute(
        text(
            "UPDATE roster_batches SET processed_rows = :n, "
            "total_rows = GREATEST(total_rows, :n), updated_at = now() "
            "WHERE id = :id AND status = 'processing'"
        ),
        {"n": processed, "id": batch_id},
    )


BATCH_LOCK_PREFIX = "roster_batch:"


def batch_lock(batch_id: uuid.UUID) -> str:
    """The advisory lock a process holds on a batch for as long as it works on it."""
    return f"{BATCH_LOCK_PREFIX}{batch_id}"


async def fail_interrupted(session: AsyncSession, *, older_than_seconds: int) -> list[uuid.UUID]:
    """Marks failed the unfinished batches that no live process holds (see batch_lock)."""
    rows = await session.execute(
        text(
            "UPDATE roster_batches SET status = 'failed', error = 'interrupted', "
            "error_detail = :detail, finished_at = now(), updated_at = now(), "
            "processed_rows = LEAST(processed_rows, total_rows) "
            "WHERE status IN ('received', 'processing') "
            "AND created_at < now() - make_interval(secs => :age) "
            "AND pg_try_advisory_xact_lock(hashtextextended(:prefix || id::text, 0)) "
            "RETURNING id"
        ),
        {"age": older_than_seconds, "detail": INTERRUPTED_DETAIL, "prefix": BATCH_LOCK_PREFIX},
    )
    return [row[0] for row in rows]


INTERRUPTED_DETAIL = (
    "The process handling this roster stopped before it finished; nothing was applied. "
    "Send the roster again (the same Idempotency-Key may be reused)."
)


# Prepared halves of batches (app/rosters/lanes.py), on a connection outside any transaction


async def prepared_transactions(connection: asyncpg.Connection, prefix: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() "
        "AND starts_with(gid, $1)",
        prefix,
    )
    return [row["gid"] for row in rows]


async def try_hold_batch(connection: asyncpg.Connection, batch_id: uuid.UUID) -> bool:
    """batch_lock for this connection's session, without waiting: no live process has it."""
    held: bool = await connection.fetchval(
        "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", batch_lock(batch_id)
    )
    return held


async def release_batch(connection: asyncpg.Connection, batch_id: uuid.UUID) -> None:
    await connection.execute(
        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", batch_lock(batch_id)
    )


async def batch_applied(connection: asyncpg.Connection, batch_id: uuid.UUID) -> bool:
    applied: bool | None = await connection.fetchval(
        "SELECT applied FROM roster_batches WHERE id = $1", batch_id
    )
    return bool(applied)


async def problem_rows(
    session: AsyncSession, batch_id: uuid.UUID, *, after: int, limit: int
) -> list[RosterBatchRow]:
    stmt = (
        select(RosterBatchRow)
        .where(RosterBatchRow.batch_id == batch_id, RosterBatchRow.row_number > after)
        .order_by(RosterBatchRow.row_number)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def problem_niks(session: AsyncSession, batch_id: uuid.UUID) -> list[str]:
    """The NIKs as written in every problem row of a batch, each once."""
    stmt = (
        select(RosterBatchRow.nik)
        .where(RosterBatchRow.batch_id == batch_id, RosterBatchRow.nik.is_not(None))
        .distinct()
    )
    return [nik for nik in (await session.execute(stmt)).scalars() if nik is not None]


# ---------------------------------------------------------------------------------------------
# Staging


async def create_stage(
    connection: asyncpg.Connection, tables: StageTables, *, temporary: bool = True
) -> None:
    """Temporary tables, or (for a transaction to be prepared, where temporary tables may not
    be used) unlogged ones that drop_stage drops before the PREPARE."""
    kind, drop = ("TEMP", " ON COMMIT DROP") if temporary else ("UNLOGGED", "")
    await connection.execute(
        f"""
        CREATE {kind} TABLE {tables.stage} (
            row_number integer NOT NULL,
            nik bigint,
            nik_text text,
            codes text[],
            messages text[],
            original text NOT NULL,
            cohort_id uuid,
            role_code text,
            position text,
            full_name text,
            birth_date date,
            sex text,
            phone text,
            region_code text,
            tps text,
            coverage_start date,
            coverage_end date,
            replaces_nik bigint,
            nik_warnings text[]
        ){drop};
        CREATE {kind} TABLE {tables.outcome} (
            row_number integer PRIMARY KEY,
            outcome text NOT NULL,
            existing_id bigint,
            replaces_id bigint,
            conflict_id bigint,
            conflict jsonb,
            codes text[],
            messages text[]
        ){drop};
        CREATE {kind} TABLE {tables.known} (nik bigint PRIMARY KEY){drop};
        CREATE {kind} TABLE {tables.chunk} (LIKE {tables.stage}){drop};
        CREATE {kind} TABLE {tables.duplicates} (nik bigint PRIMARY KEY){drop}
        """
    )


async def drop_stage(connection: asyncpg.Connection, tables: StageTables) -> None:
    names = (tables.stage, tables.outcome, tables.known, tables.chunk, tables.duplicates)
    await connection.execute(f"DROP TABLE {', '.join(names)}")


async def copy_duplicates(
    connection: asyncpg.Connection, tables: StageTables, niks: list[int]
) -> None:
    if niks:
        await connection.copy_records_to_table(
            tables.duplicates, records=[(nik,) for nik in niks], columns=["nik"]
        )


async def start_chunk(connection: asyncpg.Connection, tables: StageTables) -> None:
    await connection.execute(f"TRUNCATE {tables.chunk}")


async def keep_chunk(connection: asyncpg.Connection, tables: StageTables) -> None:
    """Adds the chunk's rows to the whole file's, and leaves out of the chunk the valid rows
    that replace someone: those are settled last (settle_replacements_last)."""
    await connection.execute(
        f"""
        INSERT INTO {tables.stage} SELECT * FROM {tables.chunk};
        DELETE FROM {tables.chunk} WHERE replaces_nik IS NOT NULL AND codes IS NULL
        """
    )


async def settle_replacements_last(connection: asyncpg.Connection, tables: StageTables) -> int:
    """The chunk becomes the file's valid rows that replace someone (PAW); their count."""
    await start_chunk(connection, tables)
    result: str = await connection.execute(
        f"INSERT INTO {tables.chunk} SELECT * FROM {tables.stage} "
        "WHERE replaces_nik IS NOT NULL AND codes IS NULL"
    )
    return int(result.rsplit(" ", 1)[-1])


async def copy_rows(
    connection: asyncpg.Connection, table: str, records: list[tuple[Any, ...]]
) -> None:
    await connection.copy_records_to_table(table, records=records, columns=list(STAGE_COLUMNS))


async def analyze(connection: asyncpg.Connection, table: str) -> None:
    await connection.execute(f"ANALYZE {table}")


# ---------------------------------------------------------------------------------------------
# Deciding the outcomes (no registration is written here)
#
# First the NIKs of the file that have any registration at all are found (`known`; none for a
# first upload), by one index probe each: a semi-join planned as a hash over registrations
# would read the whole table once per chunk. Only their rows are then looked up one by one,
# through LATERAL ... LIMIT index probes.

_SAME_DATA = (
    "(r.position, r.full_name, r.birth_date, r.sex, r.phone, r.region_code, r.tps, "
    "r.coverage_start, r.coverage_end, r.nik_warnings) IS NOT DISTINCT FROM "
    "(s.position, s.full_name, s.birth_date, s.sex, s.phone, s.region_code, s.tps, "
    "s.coverage_start, s.coverage_end, s.nik_warnings)"
)


async def decide(
    connection: asyncpg.Connection,
    tables: StageTables,
    *,
    source: str,
    batch_id: uuid.UUID,
    replacements: bool,
) -> bool:
    """An outcome row for every row of `source` (the whole stage or a chunk of it) whose
    outcome is not simply `created` or `rejected`; `replacements` when it may hold PAW rows.
    False when every valid row is simply `created` (none of its NIKs has a registration)."""
    s, o, k = source, tables.outcome, tables.known
    # The same NIK twice in one file: every such row is rejected (describe_duplicates names
    # the other rows once the whole file is staged).
    await connection.execute(
        f"""
        INSERT INTO {o} (row_number, outcome, codes, messages)
        SELECT s.row_number, 'rejected', ARRAY['{DUPLICATE_NIK}'], ARRAY['']
        FROM {s} s JOIN {tables.duplicates} USING (nik)
        ON CONFLICT (row_number) DO NOTHING
        """
    )
    inserted: str = await connection.execute(
        f"""
        INSERT INTO {k} (nik)
        SELECT DISTINCT s.nik FROM {s} s
        JOIN LATERAL (SELECT 1 FROM registrations r WHERE r.nik = s.nik LIMIT 1) r ON true
        WHERE s.codes IS NULL
        ON CONFLICT (nik) DO NOTHING
        """
    )
    # A NIK of `source` already in `known` is a repeated one, rejected above.
    known = int(inserted.rsplit(" ", 1)[-1]) > 0
    if known:
        await _decide_known(connection, tables, source)
    if replacements:
        await _decide_replacements(connection, tables, source, batch_id)
    if known or replacements:
        await _decide_overlaps(connection, tables, source)
    return known or replacements


async def _decide_known(connection: asyncpg.Connection, tables: StageTables, s: str) -> None:
    o, k = tables.outcome, tables.known
    # The same person already open in the same cohort: an update, or nothing to do.
    await connection.execute(
        f"""
        INSERT INTO {o} (row_number, outcome, existing_id, codes, messages)
        SELECT s.row_number,
               CASE WHEN r.status = 'held' THEN 'held'
                    WHEN {_SAME_DATA} THEN 'unchanged'
                    ELSE 'updated' END,
               r.id,
               CASE WHEN r.status = 'held' THEN ARRAY['coverage_overlap'] END,
               CASE WHEN r.status = 'held' THEN ARRAY['Masih ditahan: bertumpang tindih '
                   || 'dengan pendaftaran lain, menunggu keputusan peninjau'] END
        FROM {s} s
        JOIN {k} k ON k.nik = s.nik
        JOIN LATERAL (
            SELECT * FROM registrations r
            WHERE r.nik = s.nik AND r.cohort_id = s.cohort_id AND r.status IN ('active', 'held')
            LIMIT 1
        ) r ON true
        WHERE s.codes IS NULL
        ON CONFLICT (row_number) DO NOTHING
        """
    )


async def _decide_replacements(
    connection: asyncpg.Connection, tables: StageTables, s: str, batch_id: uuid.UUID
) -> None:
    o = tables.outcome
    # A replacement (PAW): the person replaced must be active in the same cohort, and have
    # been so before this roster: what its earlier chunks created does not count.
    await connection.execute(
        f"""
        INSERT INTO {o} (row_number, outcome, replaces_id, codes, messages)
        SELECT s.row_number,
               CASE WHEN t.id IS NULL THEN 'rejected' ELSE 'replaced' END,
               t.id,
               CASE WHEN t.id IS NULL THEN ARRAY['replaces_nik_not_found'] END,
               CASE WHEN t.id IS NULL THEN ARRAY['NIK yang digantikan tidak terdaftar aktif '
                   || 'pada kelompok petugas ini'] END
        FROM {s} s
        LEFT JOIN LATERAL (
            SELECT r.id FROM registrations r
            WHERE r.nik = s.replaces_nik AND r.cohort_id = s.cohort_id
              AND r.status = 'active' AND r.nik <> s.nik
              AND (r.batch_id IS DISTINCT FROM $1 OR r.created_at <> now())
            ORDER BY r.id LIMIT 1
        ) t ON true
        WHERE s.codes IS NULL AND s.replaces_nik IS NOT NULL
        ON CONFLICT (row_number) DO NOTHING
        """,
        batch_id,
    )


async def _decide_overlaps(connection: asyncpg.Connection, tables: StageTables, s: str) -> None:
    o, k = tables.outcome, tables.known
    # Rule 1: a period that overlaps another protecting registration of the NIK is held (a new
    # row) or refused (a change to an existing one). The conflict names body, role and period.
    await connection.execute(
        f"""
        INSERT INTO {o} (row_number, outcome, existing_id, replaces_id, conflict_id, conflict,
                         codes, messages)
        SELECT h.row_number,
               CASE WHEN h.outcome = 'updated' THEN 'rejected' ELSE 'held' END,
               h.existing_id, h.replaces_id, h.conflict_id, h.conflict,
               ARRAY['coverage_overlap'],
               ARRAY[format('Bertumpang tindih dengan pendaftaran %s sebagai %s, %s s.d. %s',
                            CASE h.conflict->>'body' WHEN 'kpu' THEN 'KPU'
                                 WHEN 'bawaslu' THEN 'Bawaslu' ELSE h.conflict->>'body' END,
                            h.conflict->>'role', h.conflict->>'coverage_start',
                            h.conflict->>'coverage_end')]
        FROM (
            SELECT s.row_number, o.outcome, o.existing_id, o.replaces_id, c.id AS conflict_id,
                   jsonb_build_object(
                       'body', CASE WHEN g.kind IN ('kpu', 'bawaslu') THEN g.kind
                                    ELSE ro.body END,
                       'role', c.role_code,
                       'coverage_start', c.coverage_start,
                       'coverage_end', COALESCE(c.ended_on, c.coverage_end)) AS conflict
            FROM {s} s
            JOIN {k} k ON k.nik = s.nik
            LEFT JOIN {o} o USING (row_number)
            JOIN LATERAL (
                SELECT c.id, c.agreement_id, c.role_code, c.coverage_start, c.coverage_end,
                       c.ended_on
                FROM registrations c
                WHERE c.nik = s.nik AND c.status IN {COVERING_SQL}
                  AND c.coverage && daterange(s.coverage_start, s.coverage_end, '[]')
                  AND c.id IS DISTINCT FROM o.existing_id AND c.id IS DISTINCT FROM o.replaces_id
                ORDER BY c.coverage_start, c.id
                LIMIT 1
            ) c ON true
            JOIN agreements a ON a.id = c.agreement_id
            JOIN organizations g ON g.id = a.counterpart_id
            JOIN roles ro ON ro.code = c.role_code
            WHERE s.codes IS NULL
              AND (o.outcome IS NULL OR o.outcome IN ('updated', 'replaced'))
        ) h
        ON CONFLICT (row_number) DO UPDATE
        SET outcome = excluded.outcome, conflict_id = excluded.conflict_id,
            conflict = excluded.conflict, codes = excluded.codes, messages = excluded.messages
        """
    )


async def duplicate_rows(
    connection: asyncpg.Connection, tables: StageTables
) -> list[tuple[int, int]]:
    """(NIK, row number) of every staged row whose NIK the file gives more than once."""
    rows = await connection.fetch(
        f"SELECT nik, row_number FROM {tables.stage} JOIN {tables.duplicates} USING (nik)"
    )
    return [(row["nik"], row["row_number"]) for row in rows]


async def describe_duplicates(
    connection: asyncpg.Connection, tables: StageTables, rows: list[tuple[int, int]]
) -> None:
    """Names, in each duplicate row's message, the other rows of the file with its NIK
    (`rows`: duplicate_rows of every lane of the batch)."""
    if not rows:
        return
    niks, numbers = zip(*rows, strict=True)
    await connection.execute(
        f"""
        WITH d AS (
            SELECT nik, array_agg(n ORDER BY n) AS rows
            FROM unnest($1::bigint[], $2::integer[]) AS t (nik, n)
            GROUP BY nik
        )
        UPDATE {tables.outcome} o
        SET messages = ARRAY['NIK yang sama juga ada di baris '
                             || array_to_string(array_remove(d.rows, o.row_number), ', ')]
        FROM {tables.stage} s JOIN d USING (nik)
        WHERE o.row_number = s.row_number AND o.codes = ARRAY['{DUPLICATE_NIK}']
        """,
        list(niks),
        list(numbers),
    )


@dataclass(frozen=True, slots=True)
class Tally:
    cohort_id: uuid.UUID | None
    outcome: str
    rows: int


async def count_outcomes(connection: asyncpg.Connection, tables: StageTables) -> list[Tally]:
    """How many staged rows ended with each outcome, per cohort."""
    rows = await connection.fetch(
        f"""
        SELECT s.cohort_id,
               CASE WHEN s.codes IS NOT NULL THEN 'rejected'
                    ELSE COALESCE(o.outcome, 'created') END AS outcome,
               count(*) AS n
        FROM {tables.stage} s LEFT JOIN {tables.outcome} o USING (row_number)
        GROUP BY 1, 2
        """
    )
    return [Tally(row["cohort_id"], row["outcome"], row["n"]) for row in rows]


# ---------------------------------------------------------------------------------------------
# Applying them


async def apply(
    connection: asyncpg.Connection,
    tables: StageTables,
    *,
    source: str,
    batch_id: uuid.UUID,
    agreement_id: uuid.UUID,
    plain: bool = False,
) -> None:
    """Writes the decided outcomes of the rows of `source`; only the inserts when `plain`
    (decide found nothing but new registrations)."""
    s, o = source, tables.outcome
    if not plain:
        await _apply_changes(connection, s, o, batch_id)
    await _insert_new(connection, s, o, batch_id, agreement_id)


async def _apply_changes(
    connection: asyncpg.Connection, s: str, o: str, batch_id: uuid.UUID
) -> None:
    # PAW first: the old registration ends the day before the new one starts, freeing the days.
    await connection.execute(
        f"""
        UPDATE registrations t
        SET status = 'replaced',
            ended_on = LEAST(t.coverage_end, GREATEST(s.coverage_start - 1, t.coverage_start - 1)),
            end_reason = 'replaced (PAW)', updated_at = now()
        FROM {o} o JOIN {s} s USING (row_number)
        WHERE t.id = o.replaces_id AND o.outcome IN ('replaced', 'held') AND t.status = 'active'
        """
    )
    await connection.execute(
        f"""
        UPDATE registrations r
        SET position = s.position, full_name = s.full_name, birth_date = s.birth_date,
            sex = s.sex, phone = s.phone, region_code = s.region_code, tps = s.tps,
            coverage_start = s.coverage_start, coverage_end = s.coverage_end,
            nik_warnings = s.nik_warnings, batch_id = $1, updated_at = now()
        FROM {o} o JOIN {s} s USING (row_number)
        WHERE r.id = o.existing_id AND o.outcome IN ('updated', 'held')
          AND NOT ({_SAME_DATA})
        """,
        batch_id,
    )


async def _insert_new(
    connection: asyncpg.Connection, s: str, o: str, batch_id: uuid.UUID, agreement_id: uuid.UUID
) -> None:
    # In NIK order, so that two batches inserting the same NIKs wait for each other in the
    # same order instead of deadlocking.
    await connection.execute(
        f"""
        INSERT INTO registrations (
            nik, agreement_id, cohort_id, batch_id, role_code, position, full_name, birth_date,
            sex, phone, region_code, tps, coverage_start, coverage_end, status, replaces_id,
            conflict_registration_id, conflict, nik_warnings)
        SELECT s.nik, $2, s.cohort_id, $1, s.role_code, s.position, s.full_name, s.birth_date,
               s.sex, s.phone, s.region_code, s.tps, s.coverage_start, s.coverage_end,
               CASE WHEN o.outcome = 'held' THEN 'held' ELSE 'active' END, o.replaces_id,
               o.conflict_id, o.conflict, s.nik_warnings
        FROM {s} s LEFT JOIN {o} o USING (row_number)
        WHERE s.codes IS NULL
          AND (o.row_number IS NULL
               OR (o.outcome IN ('replaced', 'held') AND o.existing_id IS NULL))
        ORDER BY s.nik
        """,
        batch_id,
        agreement_id,
    )


async def terminate_missing(
    connection: asyncpg.Connection,
    tables: StageTables,
    *,
    agreement_id: uuid.UUID,
    cohort_ids: list[uuid.UUID],
    as_of: date,
) -> int:
    """Replace mode: the cohorts' active registrations whose NIK is nowhere in the file end
    the day before the file's date (those already over by then are left as they are)."""
    if not cohort_ids:
        return 0
    # The agreement leads ix_registrations_agreement_report (agreement, cohort, status, ...).
    result: str = await connection.execute(
        f"""
        UPDATE registrations r
        SET status = 'terminated',
            ended_on = GREATEST(LEAST($2::date - 1, r.coverage_end), r.coverage_start - 1),
            end_reason = 'missing from a replace-mode roster', updated_at = now()
        WHERE r.agreement_id = $3 AND r.cohort_id = ANY($1::uuid[]) AND r.status = 'active'
          AND r.coverage_end >= $2
          AND NOT EXISTS (SELECT 1 FROM {tables.stage} s WHERE s.nik = r.nik)
        """,
        cohort_ids,
        as_of,
        agreement_id,
    )
    return int(result.rsplit(" ", 1)[-1])


async def store_problem_rows(
    connection: asyncpg.Connection, tables: StageTables, *, batch_id: uuid.UUID, held: bool
) -> None:
    """The rejected rows (and held ones when they were applied) with codes and original cells."""
    outcomes = "('rejected', 'held')" if held else "('rejected')"
    await connection.execute(
        f"""
        INSERT INTO roster_batch_rows (batch_id, row_number, outcome, nik, codes, messages,
                                       original)
        SELECT $1, s.row_number,
               CASE WHEN s.codes IS NOT NULL OR o.outcome = 'rejected' THEN 'rejected'
                    ELSE 'held' END,
               COALESCE(s.nik_text, s.nik::text),
               COALESCE(s.codes, '{{}}') || COALESCE(o.codes, '{{}}'),
               COALESCE(s.messages, '{{}}') || COALESCE(o.messages, '{{}}'),
               string_to_array(s.original, E'\\x1f')
        FROM {tables.stage} s LEFT JOIN {tables.outcome} o USING (row_number)
        WHERE s.codes IS NOT NULL OR o.outcome IN {outcomes}
        """,
        batch_id,
    )


async def over_planned(
    connection: asyncpg.Connection,
    cohort_ids: list[uuid.UUID],
    *,
    unseen: dict[uuid.UUID, int] | None = None,
) -> list[dict[str, Any]]:
    """The cohorts with more active registrations than planned, counting `unseen` ones
    (another connection's, not committed yet) too."""
    if not cohort_ids:
        return []
    unseen = unseen or {}
    # Counted off ix_registrations_agreement_report (agreement, cohort, status, ...): an
    # index-only read once the table is vacuumed.
    rows = await connection.fetch(
        """
        SELECT c.id, c.role_code, c.planned_headcount, count(r.cohort_id) AS registered
        FROM cohorts c
        LEFT JOIN registrations r
          ON r.agreement_id = c.agreement_id AND r.cohort_id = c.id AND r.status = 'active'
        WHERE c.id = ANY($1::uuid[])
        GROUP BY c.id
        ORDER BY c.role_code
        """,
        cohort_ids,
    )
    warnings = []
    for row in rows:
        registered = row["registered"] + unseen.get(row["id"], 0)
        if registered > row["planned_headcount"]:
            warnings.append(
                {
                    "code": "over_planned_headcount",
                    "cohort_id": str(row["id"]),
                    "role": row["role_code"],
                    "planned_headcount": row["planned_headcount"],
                    "registered": registered,
                }
            )
    return warnings
