"""The background loops' wait between rounds (app.core.clock.woken_or_after)."""

import asyncio

import pytest

from app.core.clock import in_background, woken_or_after


async def test_a_loop_cancelled_as_its_event_is_set_stops() -> None:
    """What stalled a lifespan's end: the webhook dispatcher's loop, cancelled at shutdown just
    as a finished delivery woke it, went on for ever (asyncio.wait_for on Python 3.11)."""
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            await woken_or_after(event, 60)
            event.clear()
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop waits on the event
    event.set()
    task.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert rounds == 0


async def test_it_returns_when_woken_or_when_the_time_is_up() -> None:
    event = asyncio.Event()
    event.set()
    async with asyncio.timeout(5):
        await woken_or_after(event, 60)
    async with asyncio.timeout(5):
        await woken_or_after(asyncio.Event(), 0.01)


async def test_a_background_loop_has_stopped_by_the_end_of_its_context() -> None:
    rounds = 0
    stopped = False

    async def loop() -> None:
        nonlocal rounds, stopped
        try:
            while True:
                rounds += 1
                await asyncio.sleep(0.001)
        finally:
            stopped = True

    async with in_background(loop(), "test loop"):
        await asyncio.sleep(0.02)
        assert rounds > 0 and not stopped
    assert stopped
    counted = rounds
    await asyncio.sleep(0.02)
    assert rounds == counted
