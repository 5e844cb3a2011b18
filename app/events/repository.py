"""SQL of the outbox: writing events with their deliveries in one statement, and the feed."""

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.core.auth import Principal

# The events `select` gives (agreement_id, type, data) are inserted and, in the same statement,
# fanned out to a delivery for every enabled endpoint of an organization party to the event's
# agreement that asked for its type.
FAN_OUT = """
WITH {ctes} new_events AS (
    INSERT INTO events (agreement_id, type, data)
    {select}
    RETURNING id, agreement_id, type
), deliveries AS (
    INSERT INTO webhook_deliveries (event_id, endpoint_id)
    SELECT e.id, w.id
    FROM new_events e
    JOIN agreements a ON a.id = e.agreement_id
    JOIN webhook_endpoints w
      ON w.enabled AND w.deleted_at IS NULL AND e.type = ANY(w.event_types)
     AND {party}
)
SELECT count(*) FROM new_events
"""
ONE = "SELECT CAST(:agreement_id AS uuid), CAST(:type AS text), CAST(:data AS jsonb)"
MANY = (
    "SELECT unnest(CAST(:agreement_ids AS uuid[])), CAST(:type AS text), "
    "unnest(CAST(:data AS jsonb[]))"
)
# Only what no running transaction can still add to: an event of a transaction that began
# earlier but commits later has a smaller txid, and would be skipped by a cursor past it.
SETTLED = "e.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def fan_out_sql(select: str, ctes: str = "") -> str:
    """The fan-out of the events `select` gives; `ctes` (each `name AS (...),`) come first, as
    a data-modifying WITH must be at the top: `select` may read what they return."""
    return FAN_OUT.format(
        ctes=ctes, select=select, party=access.party_sql("a", "w.organization_id")
    )


async def insert(
    session: AsyncSession, *, agreement_id: uuid.UUID, type: str, data: dict[str, Any]
) -> None:
    await session.execute(
        text(fan_out_sql(ONE)),
        {"agreement_id": agreement_id, "type": type, "data": orjson.dumps(data).decode()},
    )


async def insert_many(
    session: AsyncSession, *, type: str, items: Sequence[tuple[uuid.UUID, dict[str, Any]]]
) -> None:
    await session.execute(
        text(fan_out_sql(MANY)),
        {
            "agreement_ids": [agreement_id for agreement_id, _ in items],
            "type": type,
            "data": [orjson.dumps(data).decode() for _, data in items],
        },
    )


async def insert_selected(
    connection: asyncpg.Connection, select: str, *args: Any, ctes: str = ""
) -> int:
    """Events from `select` (agreement_id, type, data), on a raw connection (the bulk paths);
    how many."""
    written: int = await connection.fetchval(fan_out_sql(select, ctes), *args)
    return written


async def insert_ping(session: AsyncSession, endpoint_id: uuid.UUID, data: dict[str, Any]) -> int:
    """A `ping` event delivered to one endpoint; the delivery's id."""
    row = await session.execute(
        text(
            """
            WITH ping AS (
                INSERT INTO events (agreement_id, type, data)
                VALUES (NULL, 'ping', CAST(:data AS jsonb)) RETURNING id
            )
            INSERT INTO webhook_deliveries (event_id, endpoint_id)
            SELECT id, :endpoint_id FROM ping RETURNING id
            """
        ),
        {"endpoint_id": endpoint_id, "data": orjson.dumps(data).decode()},
    )
    return int(row.scalar_one())


async def feed(
    session: AsyncSession,
    principal: Principal,
    *,
    type: str | None,
    agreement_id: uuid.UUID | None,
    after: tuple[int, int] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    readable, params = access.readable_sql(principal, "a", "organization_id")
    where = [readable, SETTLED]
    if type is not None:
        where.append("e.type = :type")
        params["type"] = type
    if agreement_id is not None:
        where.append("e.agreement_id = :agreement_id")
        params["agreement_id"] = agreement_id
    if after is not None:
        where.append("(e.txid, e.id) > (:after_txid, :after_id)")
        params.update(after_txid=after[0], after_id=after[1])
    result = await session.execute(
        text(
            f"""
            SELECT e.id, e.txid, e.public_id, e.type, e.agreement_id, e.data, e.created_at
            FROM events e JOIN agreements a ON a.id = e.agreement_id
            WHERE {" AND ".join(where)}
            ORDER BY e.txid, e.id
            LIMIT :limit
            """
        ),
        {**params, "limit": limit},
    )
    return result.all()


async def quiet(connection: asyncpg.Connection) -> None:
    """No NOTIFY from this transaction: it is to be prepared, which NOTIFY forbids."""
    await connection.execute("SET LOCAL perisai.quiet_deliveries = 'on'")


async def wake(connection: asyncpg.Connection) -> None:
    await connection.execute("SELECT pg_notify('webhook_deliveries', '')")
