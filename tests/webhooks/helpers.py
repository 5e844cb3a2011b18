"""Webhook test pieces: a dispatcher running beside the test, endpoints, events written fast."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx

from app.core import clock
from app.core.database import plain_url
from app.core.settings import Settings
from app.events import repository as events_repository
from app.webhooks.dispatcher import Dispatcher
from tests.conftest import ADMIN_KEY


def dispatcher_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "admin_api_key": ADMIN_KEY,
        "webhook_read_timeout": 1.0,
        "webhook_connect_timeout": 1.0,
        "webhook_lease_seconds": 4.0,
        "webhook_poll_seconds": 0.2,
    }
    return Settings(**{**values, **overrides})


class ShiftedClock:
    """The service's clock moved forward by `offset`: retries come due without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return clock.now() + self.offset


@asynccontextmanager
async def dispatching(
    database_url: str, now: Callable[[], datetime] = clock.now, **overrides: Any
) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(
        plain_url(database_url), dispatcher_settings(database_url, **overrides), now=now
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def subscribe(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    event_types: list[str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": event_types or ["claim.created"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def write_events(
    database_url: str, agreement_id: uuid.UUID, count: int, type: str = "claim.created"
) -> None:
    """`count` events of the agreement through the outbox's own fan-out, committed."""
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        await events_repository.insert_selected(
            connection,
            "SELECT $1::uuid, $2::text, jsonb_build_object('n', g) FROM generate_series(1, $3) g",
            agreement_id,
            type,
            count,
        )
    finally:
        await connection.close()


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)
