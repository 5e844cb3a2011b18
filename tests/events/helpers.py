"""Reading the events a test's changes wrote (in the test's own transaction)."""

import uuid
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def events_of(session: AsyncSession, agreement_id: uuid.UUID | str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("SELECT type, data FROM events WHERE agreement_id = :a ORDER BY id"),
        {"a": agreement_id},
    )
    return [{"type": row.type, "data": row.data} for row in rows]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def assert_no_personal_data(events: list[dict[str, Any]], *secrets: str) -> None:
    """No NIK, name, phone or bank account anywhere in the events' data."""
    dumped = orjson.dumps([event["data"] for event in events]).decode()
    for secret in secrets:
        assert secret not in dumped, secret
