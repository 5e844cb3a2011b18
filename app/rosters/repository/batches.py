"""Roster batches: their rows, the advisory locks around them, and their problem rows."""

import uuid
from typing import Any

import asyncpg
from sqlalchemy import Select, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import RosterBatch, RosterBatchRow

NIL_UUID = uuid.UUID(int=0)


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


async def claim(session: AsyncSession, batch_id: uuid.UUID) -> bool:
    """Marks a `received` batch `processing`, its job started: whether it was still received."""
    claimed = await session.execute(
        text(
            "UPDATE roster_batches SET status = 'processing', started_at = now(), "
            "updated_at = now() WHERE id = :id AND status = 'received'"
        ),
        {"id": batch_id},
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def fail_unapplied(
    session: AsyncSession, batch_id: uuid.UUID, *, code: str, detail: str
) -> bool:
    """Marks the batch failed unless it has ended or was applied (a batch whose own transaction
    committed is the sweep's to complete, never failed): whether it did."""
    failed = await session.execute(
        text(
            "UPDATE roster_batches SET status = 'failed', error = :code, error_detail = :detail, "
            "finished_at = now(), updated_at = now() "
            "WHERE id = :id AND NOT applied AND status IN ('received', 'processing')"
        ),
        {"id": batch_id, "code": code, "detail": detail},
    )
    return bool(failed.rowcount)  # type: ignore[attr-defined]


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


async def fail_interrupted(
    session: AsyncSession, *, older_than_seconds: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Marks failed the unfinished batches that no live process holds (see batch_lock): at
    once when `processing` (its process took the lock before saying so), and when `received`
    only once older than `older_than_seconds` (its task may not have taken it yet). Their ids
    and agreements'."""
    rows = await session.execute(
        text(
            "UPDATE roster_batches SET status = 'failed', error = 'interrupted', "
            "error_detail = :detail, finished_at = now(), updated_at = now(), "
            "processed_rows = LEAST(processed_rows, total_rows) "
            "WHERE ((status = 'processing' AND NOT applied) OR (status = 'received' "
            "AND created_at < now() - make_interval(secs => :age))) "
            "AND pg_try_advisory_xact_lock(hashtextextended(:prefix || id::text, 0)) "
            "RETURNING id, agreement_id"
        ),
        {"age": older_than_seconds, "detail": INTERRUPTED_DETAIL, "prefix": BATCH_LOCK_PREFIX},
    )
    return [(row[0], row[1]) for row in rows]


async def complete_applied(
    session: AsyncSession, *, gid_sql: str, batch_id: uuid.UUID | None = None
) -> list[tuple[uuid.UUID, uuid.UUID, int, dict[str, int]]]:
    """Marks completed the batches applied on two connections (`batch_id`, or any) whose
    prepared half has committed and whose lock no process holds: its id, agreement, rows and
    counts. Until then such a batch reads `processing`, so that `completed` means every row of
    it can be read. `gid_sql` gives a prepared half's name of the column `id`."""
    rows = await session.execute(
        text(
            # The lock is tried only on the batches left once the other filters ran.
            "WITH ready AS MATERIALIZED (SELECT id FROM roster_batches "
            " WHERE status = 'processing' AND applied "
            " AND (CAST(:id AS uuid) IS NULL OR id = :id) "
            " AND NOT EXISTS (SELECT 1 FROM pg_prepared_xacts "
            f"  WHERE gid = {gid_sql})) "
            "UPDATE roster_batches b SET status = 'completed', updated_at = now() FROM ready "
            "WHERE b.id = ready.id AND b.status = 'processing' "
            "AND pg_try_advisory_xact_lock(hashtextextended(:prefix || b.id::text, 0)) "
            "RETURNING b.id, b.agreement_id, b.total_rows, b.counts"
        ),
        {"id": batch_id, "prefix": BATCH_LOCK_PREFIX},
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


INTERRUPTED_DETAIL = (
    "The process handling this roster stopped before it finished; nothing was applied. "
    "Send the roster again (the same Idempotency-Key may be reused)."
)


async def purge_refused_rows(
    session: AsyncSession, *, older_than_hours: int, limit: int = 100
) -> list[uuid.UUID]:
    """The NIKs and cells of the rejected rows of rosters refused whole (atomic, 422) that
    finished more than `older_than_hours` ago, emptied; their codes and reasons stay. Nothing
    of such a roster was registered: its rows were kept for the errors file alone."""
    rows = await session.execute(
        text(
            "WITH purged AS ("
            " UPDATE roster_batches SET errors_purged_at = now(), updated_at = now()"
            " WHERE id IN (SELECT id FROM roster_batches"
            "  WHERE error = 'roster_rejected' AND errors_purged_at IS NULL"
            "  AND finished_at < now() - make_interval(hours => :hours)"
            "  ORDER BY finished_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
            " RETURNING id),"
            " emptied AS ("
            " UPDATE roster_batch_rows r SET nik = NULL, original = '{}'"
            " FROM purged WHERE r.batch_id = purged.id)"
            " SELECT id FROM purged"
        ),
        {"hours": older_than_hours, "limit": limit},
    )
    return [row[0] for row in rows]


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


# Problem rows


def problem_rows_query(batch_id: uuid.UUID) -> Select[tuple[RosterBatchRow]]:
    """A batch's rejected and held rows, for paging in row order."""
    return select(RosterBatchRow).where(RosterBatchRow.batch_id == batch_id)


async def problem_rows(
    session: AsyncSession, batch_id: uuid.UUID, *, after: int, limit: int
) -> list[RosterBatchRow]:
    """Up to `limit` problem rows after row `after`, in row order."""
    stmt = (
        problem_rows_query(batch_id)
        .where(RosterBatchRow.row_number > after)
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
