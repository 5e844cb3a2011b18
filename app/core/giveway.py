"""Bulk work gives way to the serving process it works for when that process waits for a core.

A worker's own Python runs at a lower OS priority (workers.NICE), but the database work it
sends does not: PostgreSQL's backends run at the priority of everyone else's, and on a full
CPU a batch check's queries take the cores from the process answering the lookups
(docs/scaling.md, sixth pass). Linux counts, for each thread, the time it spent
runnable but not running (the second figure of /proc/<pid>/schedstat). A `GiveWay` reads that
figure for the serving process's event-loop thread before each step of a piece of bulk work:
when the process waited for a core more than STARVED of the time since the last look, the step
waits, in slices, until it no longer does (at most STEP_SECONDS a step, and at most the piece's
own allowance in all), and steps that would run side by side run one at a time. Where the
figure cannot be read (not Linux, the process gone) nothing waits.
"""

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

STARVED = 0.05  # the share of the time the serving process may wait for a core
SLICE_SECONDS = 0.01
STEP_SECONDS = 0.25
LOOK_SECONDS = 0.03  # looks closer together than this keep the last answer


def waited_for_a_core(pid: int) -> float | None:
    """Seconds the main thread of `pid` has spent runnable but not running, if known."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


class GiveWay:
    """One piece of bulk work done for the process `pid` (a batch check), which gives way for at
    most `most_seconds` in all: `async with give_way.step():` around each query, or
    `await give_way.wait()` between steps that never run side by side."""

    def __init__(
        self,
        pid: int,
        most_seconds: float = math.inf,
        *,
        waited: Callable[[int], float | None] = waited_for_a_core,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pid = pid
        self.left = most_seconds
        self._waited = waited
        self._clock = clock
        self._since: tuple[float, float] | None = None  # (clock, waited) at the last look
        self._starving = False  # the last look's answer
        self._one_at_a_time = asyncio.Lock()

    async def wait(self) -> None:
        """Returns once the serving process no longer waits for a core, or after STEP_SECONDS,
        or when the allowance is spent."""
        started = self._clock()
        most = min(STEP_SECONDS, self.left)
        for _ in range(math.ceil(most / SLICE_SECONDS)):
            # A slice may take longer than asked: on a full CPU a niced worker wakes late.
            if self._clock() - started >= most or not self._starved():
                break
            await asyncio.sleep(SLICE_SECONDS)
        self.left -= self._clock() - started

    @asynccontextmanager
    async def step(self) -> AsyncIterator[None]:
        if not self._starved():
            yield
            return
        async with self._one_at_a_time:
            await self.wait()
            yield

    def _starved(self) -> bool:
        """Whether the process waited for a core more than STARVED of the time since the last
        look (the first look only takes the figure, and so does a look when the allowance is
        spent)."""
        waited, now = self._waited(self.pid), self._clock()
        if waited is None or self.left <= 0:
            self._since, self._starving = None, False
        elif self._since is None:
            self._since = (now, waited)
        elif now - self._since[0] >= LOOK_SECONDS:
            then, waited_then = self._since
            self._since = (now, waited)
            self._starving = (waited - waited_then) / (now - then) > STARVED
        return self._starving
