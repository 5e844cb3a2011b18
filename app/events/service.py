"""Writing an event beside the change it announces, and reading the feed.

`record` runs in the caller's transaction, right where the service makes the change, so that a
rolled-back change announces nothing and a committed one is never lost. Events are thin: ids,
statuses, counts and links; the receiver reads the rest with its own key, scoped and logged.
"""

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import Unprocessable
from app.core.pagination import Page, decode_int_cursor, encode_cursor
from app.events import repository
from app.events.schemas import EventRead
from app.events.types import SUBSCRIBABLE, EventType


async def record(
    session: AsyncSession, type: EventType, *, agreement_id: uuid.UUID, **data: Any
) -> None:
    """One event of `agreement_id`; `data` is what it says (JSON values, no personal data)."""
    payload = {"agreement_id": str(agreement_id), **_jsonable(data)}
    await repository.insert(session, agreement_id=agreement_id, type=type, data=payload)


async def record_many(
    session: AsyncSession, type: EventType, items: Sequence[tuple[uuid.UUID, dict[str, Any]]]
) -> None:
    """One event of `type` per (agreement_id, data), in one statement."""
    if items:
        payloads = [(a, {"agreement_id": str(a), **_jsonable(d)}) for a, d in items]
        await repository.insert_many(session, type=type, items=payloads)


async def record_selected(
    connection: asyncpg.Connection, select: str, *args: Any, ctes: str = ""
) -> int:
    """The events a bulk path's `select` gives as (agreement_id, type, data), set-based in one
    statement on its raw connection, and how many; `ctes` (`name AS (...),` each) may change
    the rows that `select` then reads."""
    return await repository.insert_selected(connection, select, *args, ctes=ctes)


async def before_prepare(connection: asyncpg.Connection) -> None:
    """Call in a transaction that will be prepared (two-phase) before it writes events."""
    await repository.quiet(connection)


async def after_commit_prepared(connection: asyncpg.Connection) -> None:
    """Wakes the dispatchers for the deliveries a prepared transaction just committed."""
    await repository.wake(connection)


def link(kind: str, id: object) -> str:
    """The path a receiver reads the rest from: `link("claims", id)` is `/v1/claims/{id}`."""
    return f"/v1/{kind}/{id}"


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: str(v) if isinstance(v, uuid.UUID) else v for key, v in data.items()}


async def list_events(
    session: AsyncSession,
    principal: Principal,
    *,
    type: str | None,
    agreement_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[EventRead]:
    if type is not None and type not in SUBSCRIBABLE:
        raise Unprocessable(
            f"Unknown event type {type!r}",
            code="unknown_event_type",
            errors=[{"loc": ["query", "type"], "code": "unknown_event_type", "msg": type}],
        )
    rows = await repository.feed(
        session,
        principal,
        type=type,
        agreement_id=agreement_id,
        after=_after(cursor) if cursor is not None else None,
        limit=limit + 1,
    )
    shown = rows[:limit]
    items = [
        EventRead(
            id=row.public_id,
            type=row.type,
            agreement_id=row.agreement_id,
            created_at=row.created_at,
            data=row.data,
        )
        for row in shown
    ]
    # An empty or short page still gives a cursor: the next poll starts after the last event
    # seen (or where this one started), as a feed must.
    if shown:
        next_cursor: str | None = encode_cursor([shown[-1].txid, shown[-1].id])
    else:
        next_cursor = cursor
    return Page(items=items, next_cursor=next_cursor)


def _after(cursor: str) -> tuple[int, int]:
    txid, id_ = decode_int_cursor(cursor, 2)
    return txid, id_
