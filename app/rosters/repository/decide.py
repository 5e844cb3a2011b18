"""Deciding the outcomes of staged rows (no registration is written here).

First the NIKs of the file that have any registration at all are found (`known`; none for a
first upload), by one index probe each: a semi-join planned as a hash over registrations
would read the whole table once per chunk. Only their rows are then looked up one by one,
through LATERAL ... LIMIT index probes.
"""

import uuid
from dataclasses import dataclass

import asyncpg

from app.models import COVERING_SQL
from app.rosters.columns import SAME_DATA
from app.rosters.repository.staging import StageTables

DUPLICATE_NIK = "duplicate_nik_in_file"


async def outcomes(
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
                    WHEN {SAME_DATA} THEN 'unchanged'
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
