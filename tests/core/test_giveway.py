"""Bulk work giving way to the serving process when it waits for a core (app.core.giveway)."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from app.core import giveway
from app.core.giveway import GiveWay, waited_for_a_core


class Serving:
    """A serving process's figure of time waited for a core, kept waiting `share` of the time
    from the first look until `share` is changed."""

    def __init__(self, share: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.share = share
        self.clock = clock
        self._waited = 0.0
        self._at: float | None = None

    def waited(self, _pid: int) -> float:
        now = self.clock()
        if self._at is not None:
            self._waited += self.share * (now - self._at)
        self._at = now
        return self._waited


async def steps_side_by_side(give_way: GiveWay, count: int) -> tuple[float, int, float]:
    """Seconds `count` steps of 20 ms took, started together; the most of them at once; and
    the seconds until the first began."""
    running = most = 0
    began: list[float] = []

    async def step() -> None:
        nonlocal running, most
        async with give_way.step():
            began.append(time.monotonic())
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.02)
            running -= 1

    started = time.monotonic()
    await asyncio.gather(*(step() for _ in range(count)))
    return time.monotonic() - started, most, min(began) - started


async def looked_once(give_way: GiveWay) -> None:
    """The first look only takes the figure; what follows is judged against it."""
    async with give_way.step():
        pass
    await asyncio.sleep(giveway.LOOK_SECONDS * 1.5)


async def test_steps_do_not_wait_while_the_server_gets_its_cores() -> None:
    serving = Serving(share=0.02)
    give_way = GiveWay(1, waited=serving.waited)
    await looked_once(give_way)
    seconds, most, first = await steps_side_by_side(give_way, 2)
    assert most == 2
    assert first < 0.01
    assert seconds < 0.2


async def test_steps_wait_one_at_a_time_while_the_server_is_kept_from_a_core() -> None:
    serving = Serving(share=0.5)
    give_way = GiveWay(1, waited=serving.waited)
    await looked_once(give_way)

    async def served_in(seconds: float) -> None:
        await asyncio.sleep(seconds)
        serving.share = 0.0

    (seconds, most, first), _ = await asyncio.gather(
        steps_side_by_side(give_way, 2), served_in(0.1)
    )
    assert most == 1
    assert 0.1 <= first < giveway.STEP_SECONDS
    assert seconds < giveway.STEP_SECONDS * 2


async def test_a_step_goes_on_after_at_most_its_wait_when_the_server_never_gets_a_core() -> None:
    give_way = GiveWay(1, waited=Serving(share=1.0).waited)
    await looked_once(give_way)
    started = time.monotonic()
    async with asyncio.timeout(5), give_way.step():
        waited = time.monotonic() - started
    assert giveway.STEP_SECONDS * 0.9 <= waited < giveway.STEP_SECONDS * 3


@pytest.fixture
def gone_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


async def test_steps_never_wait_where_the_figure_cannot_be_read(gone_pid: int) -> None:
    assert waited_for_a_core(gone_pid) is None
    give_way = GiveWay(gone_pid)
    await looked_once(give_way)
    seconds, most, first = await steps_side_by_side(give_way, 2)
    assert most == 2
    assert first < 0.01
    assert seconds < 0.2


@pytest.fixture
def processes() -> Iterator[Callable[[str], int]]:
    """`start(code)`: a Python process running `code`, pinned to core 0; killed by PID at the
    end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(code: str) -> int:
        process = subprocess.Popen([sys.executable, "-c", code])  # noqa: S603 (our own code)
        os.sched_setaffinity(process.pid, {0})
        started.append(process)
        return process.pid

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.mark.skipif(waited_for_a_core(os.getpid()) is None, reason="no /proc schedstat here")
async def test_the_kernel_figure_tells_a_process_kept_from_a_core(
    processes: Callable[[str], int],
) -> None:
    """Two processes burning one core each wait about half the time; a sleeping one not."""
    sleeping = processes("import time; time.sleep(30)")
    await asyncio.sleep(0.5)  # started, and asleep
    kept = processes("while True: pass")
    processes("while True: pass")
    before = {pid: waited_for_a_core(pid) or 0.0 for pid in (kept, sleeping)}
    await asyncio.sleep(0.5)
    after = {pid: waited_for_a_core(pid) or 0.0 for pid in (kept, sleeping)}
    assert after[kept] - before[kept] > 0.1
    assert after[sleeping] - before[sleeping] < 0.01

    give_way = GiveWay(kept)
    await looked_once(give_way)
    started = time.monotonic()
    async with give_way.step():
        assert time.monotonic() - started >= giveway.STEP_SECONDS * 0.9


async def test_a_piece_of_work_gives_way_for_at_most_its_allowance_in_all() -> None:
    give_way = GiveWay(1, 0.1, waited=Serving(share=1.0).waited)
    await looked_once(give_way)
    started = time.monotonic()
    for _ in range(5):
        await give_way.wait()
    assert 0.09 <= time.monotonic() - started < giveway.STEP_SECONDS
    _, most, first = await steps_side_by_side(give_way, 2)
    assert (most, first < 0.01) == (2, True)  # spent: the steps go on at once, side by side


async def test_a_step_that_wakes_late_still_waits_at_most_its_time() -> None:
    """On a full CPU a niced worker's slices of sleep last longer than asked: the wait is
    bounded by the clock, not by a count of slices (here each look of the clock is 50 ms on)."""
    ticks = iter(range(10**6))

    def late_clock() -> float:
        return next(ticks) * 0.05

    give_way = GiveWay(1, waited=Serving(share=1.0, clock=late_clock).waited, clock=late_clock)
    await looked_once(give_way)
    started = time.monotonic()
    await give_way.wait()
    assert time.monotonic() - started < giveway.STEP_SECONDS / 2
