"""Bulk work gives way to the serving process it works for when that process waits for a core.

A worker's own Python runs at a lower OS priority (workers.NICE), but the database work it
sends does not: PostgreSQL's backends run at the priority of everyone else's, and on a full
CPU a 10,000-NIK batch's queries take the cores from the process answering the lookups
(docs/scaling.md, sixth pass). Linux counts, for each thread, the time it spent runnable but
not running (the second figure of /proc/<pid>/schedstat). Each step of bulk work (a query)
runs in a `GiveWay.step()`, which reads that figure for the serving process's event-loop
thread: when it waited for a core more than STARVED of the time since the last look, steps run
one at a time, each after waiting, in slices, until the serving process no longer waits, and at
most MOST_SECONDS, so that bulk work always goes on. Where the figure cannot be read (not
Linux, the process gone) steps never wait.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

STARVED = 0.10  # the share of the time the serving process may wait for a core
SLICE_SECONDS = 0.01
LOOK_SECONDS = 0.005
MOST_SECONDS = 0.25
STALE_SECONDS = 1.0  # a step after a longer rest does not judge by what came before it


def waited_for_a_core(pid: int) -> float | None:
    """Seconds the main thread of `pid` has spent runnable but not running, if known."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


class GiveWay:
    """`async with give_way.step():` around each step of bulk work done for the process `pid`."""

    def __init__(
        self,
        pid: int,
        *,
        waited: Callable[[int], float | None] = waited_for_a_core,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pid = pid
        self._waited = waited
        self._clock = clock
        self._since: tuple[float, float] | None = None  # (clock, waited) at the last look
        self._starving = False  # the last look's answer
        self._one_at_a_time = asyncio.Lock()

    async def wait(self, most_seconds: float = MOST_SECONDS) -> None:
        """Returns once the serving process no longer waits for a core, or after
        `most_seconds`."""
        for _ in range(round(most_seconds / SLICE_SECONDS)):
            if not self._starved():
                return
            await asyncio.sleep(SLICE_SECONDS)

    @asynccontextmanager
    async def step(self) -> AsyncIterator[None]:
        if not self._starved():
            yield
            return
        async with self._one_at_a_time:
            await asyncio.sleep(SLICE_SECONDS)
            await self.wait()
            yield

    def _starved(self) -> bool:
        """Whether the process waited for a core more than STARVED of the time since the last
        look (a first look, or one after STALE_SECONDS, only takes the figure; one within
        LOOK_SECONDS of the last is too short to tell, and keeps the last look's answer)."""
        waited, now = self._waited(self.pid), self._clock()
        if waited is None:
            self._since, self._starving = None, False
        elif self._since is None or now - self._since[0] > STALE_SECONDS:
            self._since, self._starving = (now, waited), False
        elif now - self._since[0] >= LOOK_SECONDS:
            then, waited_then = self._since
            self._since = (now, waited)
            self._starving = (waited - waited_then) / (now - then) > STARVED
        return self._starving
