"""The service's clock: a day is a day in Asia/Jakarta (WIB), where the officers serve; and the
background loops: their life beside a lifespan, their wait between rounds."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def now() -> datetime:
    return datetime.now(JAKARTA)


def today() -> date:
    return datetime.now(JAKARTA).date()


def day_of(moment: datetime) -> date:
    """The day in Jakarta of an aware moment (the database gives them in UTC)."""
    return moment.astimezone(JAKARTA).date()


async def woken_or_after(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` have passed. Not asyncio.wait_for: on Python 3.11 it
    swallows a cancellation that comes as the event is set, and a background loop cancelled at
    shutdown then runs on for ever (a webhook dispatcher's did, stalling a lifespan's end)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


@contextlib.asynccontextmanager
async def in_background(loop: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """`loop` running as a task of its own until the exit, then cancelled and waited for."""
    task = asyncio.create_task(loop, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
