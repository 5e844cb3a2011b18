"""Applying the decided outcomes: registrations replaced, updated and inserted, and after."""

import uuid
from datetime import date
from typing import Any

import asyncpg

from app.rosters.columns import REGISTERED, SAME_DATA, SET_DATA, listed
from app.rosters.repository.staging import StageTables


async def outcomes(
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
        SET {SET_DATA}, batch_id = $1, updated_at = now()
        FROM {o} o JOIN {s} s USING (row_number)
        WHERE r.id = o.existing_id AND o.outcome IN ('updated', 'held')
          AND NOT ({SAME_DATA})
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
        INSERT INTO registrations ({listed(REGISTERED)}, agreement_id, batch_id, status,
                                   replaces_id, conflict_registration_id, conflict)
        SELECT {listed(REGISTERED, "s")}, $2, $1,
               CASE WHEN o.outcome = 'held' THEN 'held' ELSE 'active' END, o.replaces_id,
               o.conflict_id, o.conflict
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
    """The rejected rows, and when the batch was applied its held ones and those taken with NIK
    warnings, with codes, warnings and original cells."""
    kept = (
        "o.outcome IN ('rejected', 'held') OR s.nik_warnings IS NOT NULL"
        if held
        else "o.outcome = 'rejected'"
    )
    await connection.execute(
        f"""
        INSERT INTO roster_batch_rows (batch_id, row_number, outcome, nik, codes, messages,
                                       original, warnings)
        SELECT $1, s.row_number,
               CASE WHEN s.codes IS NOT NULL THEN 'rejected'
                    ELSE COALESCE(o.outcome, 'created') END,
               COALESCE(s.nik_text, s.nik::text),
               COALESCE(s.codes, '{{}}') || COALESCE(o.codes, '{{}}'),
               COALESCE(s.messages, '{{}}') || COALESCE(o.messages, '{{}}'),
               string_to_array(s.original, E'\\x1f'),
               COALESCE(s.nik_warnings, '{{}}')
        FROM {tables.stage} s LEFT JOIN {tables.outcome} o USING (row_number)
        WHERE s.codes IS NOT NULL OR {kept}
        """,
        batch_id,
    )


async def nik_warnings(connection: asyncpg.Connection, tables: StageTables) -> list[Any]:
    """(code, rows, first row numbers) of the NIK warnings of the rows not rejected."""
    return list(
        await connection.fetch(
            f"""
            SELECT w.code, count(*) AS rows,
                   (array_agg(s.row_number ORDER BY s.row_number))[1:{WARNED_ROWS_SHOWN}] AS first
            FROM {tables.stage} s LEFT JOIN {tables.outcome} o USING (row_number)
            CROSS JOIN LATERAL unnest(s.nik_warnings) AS w (code)
            WHERE s.codes IS NULL AND o.outcome IS DISTINCT FROM 'rejected'
            GROUP BY w.code
            """
        )
    )


# The row numbers a batch's warning names (all of them are in the errors file).
WARNED_ROWS_SHOWN = 20


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
