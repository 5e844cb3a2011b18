"""Rate limits: requests per API key, and failed authentications per client address.

The limits are written as the `limits` library (pinned in pyproject.toml) parses them
(`6000/minute`, `20 per minute`) and counted here, in fixed windows aligned on the clock (a
minute's window starts at each whole minute), in memory on the request's path: no round trip.
Once a second each process adds what it counted to its windows' rows in the database
(`rate_limit_windows`, one upsert for all of them, `share`) and learns the others' counts of the
same names from the same statement, so a key's limit holds across uvicorn workers and replicas.
A window may let through up to (processes x one second's requests) more than its limit before
the counts meet, so a limit per second is in effect counted per process; a day's window starts
at midnight UTC. With the database gone, each process goes on counting on its own and adds its
counts on reconnection. The counting is ours, not the library's storage: its memory storage
takes a lock, wraps every call and starts a timer thread to expire counters, and the per-key
count runs on every request (measured with bench/bench_coverage.py, it was a tenth of what the
lookup added over its baseline).

Answers carry the IETF draft's headers (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy: "key";q=6000;w=60` and `RateLimit: "key";r=5999;t=42` (quota, window
seconds, remaining, seconds to the reset); a refusal is 429 `rate_limited` with `Retry-After`.
"""

import asyncio
import logging
import math
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse

from app.core.clock import in_background
from app.core.database import driver_connection
from app.core.errors import TooManyRequests

logger = logging.getLogger("perisai.ratelimit")

# Where the request's rate headers wait for the response (app.core.observability adds them).
RATE_HEADERS_KEY = "perisai.rate_headers"
Headers = list[tuple[bytes, bytes]]
SWEEP_SECONDS = 60.0
SHARE_SECONDS = 1.0


@dataclass(slots=True)
class Window:
    index: int  # the window's start, in window lengths since the epoch
    shared: int = 0  # every process's count, as the database last said (ours in it)
    unshared: int = 0  # ours since


class FixedWindows:
    """Counts per name in fixed windows of one limit's length, aligned on the clock. Windows past
    their end are swept at most once a minute, inline (names never seen again, as the addresses
    of failed guesses are)."""

    def __init__(self, name: str, item: RateLimitItem) -> None:
        self.name = name
        self.amount = item.amount
        self.seconds = item.get_expiry()
        # The rows' limit_name: processes whose windows differ in length share no counts.
        self.shared_as = f"{name}/{self.seconds}"
        self._windows: dict[str, Window] = {}
        self._next_sweep = time.time() + SWEEP_SECONDS

    def hit(self, name: str) -> tuple[int, float]:
        """Count one for `name`: the count in its window and the seconds until the window ends."""
        index, left = self._now()
        window = self._open(name, index)
        if window is None:
            if time.time() >= self._next_sweep:
                self._sweep(index)
            window = self._windows[name] = Window(index)
        window.unshared += 1
        return window.shared + window.unshared, left

    def peek(self, name: str) -> tuple[int, float]:
        """The count of `name`'s window (0 when none is open) and the seconds it has left."""
        index, left = self._now()
        window = self._open(name, index)
        if window is None:
            return 0, 0.0
        return window.shared + window.unshared, left

    def __len__(self) -> int:
        """How many names hold a window (some may have ended since the last sweep)."""
        return len(self._windows)

    def open_windows(self) -> list[tuple[str, Window]]:
        """The windows not ended yet, for `share`."""
        index, _ = self._now()
        return [(name, window) for name, window in self._windows.items() if window.index == index]

    def _now(self) -> tuple[int, float]:
        """The current window's index and the seconds it has left."""
        now = time.time()
        index = int(now // self.seconds)
        return index, (index + 1) * self.seconds - now

    def _open(self, name: str, index: int) -> Window | None:
        window = self._windows.get(name)
        return window if window is not None and window.index == index else None

    def _sweep(self, index: int) -> None:
        self._next_sweep = time.time() + SWEEP_SECONDS
        for name in [name for name, window in self._windows.items() if window.index != index]:
            del self._windows[name]


class RateLimits:
    """The per-key limit and the failed-authentication limit of one process."""

    def __init__(self, per_key: str, failed_auth: str) -> None:
        self.per_key = FixedWindows("key", parse(per_key))
        self.failed_auth = FixedWindows("failed_auth", parse(failed_auth))
        self._key_policy = _policy(self.per_key)

    def admit(self, owner: str) -> Headers:
        """Count a request of `owner` (a key id, or "admin"); its rate headers, or 429."""
        count, left = self.per_key.hit(owner)
        seconds = max(1, math.ceil(left))
        remaining = max(0, self.per_key.amount - count)
        rate = f'"key";r={remaining};t={seconds}'.encode()
        headers = [(b"ratelimit-policy", self._key_policy), (b"ratelimit", rate)]
        if count > self.per_key.amount:
            raise _refusal("This API key made too many requests", headers, seconds)
        return headers

    def refuse_failing_address(self, address: str) -> None:
        """429 when `address` has used up its failed authentications in this window."""
        count, left = self.failed_auth.peek(address)
        if count < self.failed_auth.amount:
            return
        seconds = max(1, math.ceil(left))
        headers = [
            (b"ratelimit-policy", _policy(self.failed_auth)),
            (b"ratelimit", f'"failed_auth";r=0;t={seconds}'.encode()),
        ]
        raise _refusal("Too many failed authentications from this address", headers, seconds)

    def note_failure(self, address: str) -> None:
        self.failed_auth.hit(address)


def _policy(windows: FixedWindows) -> bytes:
    return f'"{windows.name}";q={windows.amount};w={windows.seconds}'.encode()


def _refusal(detail: str, headers: Headers, seconds: int) -> TooManyRequests:
    named = {name.decode().title(): value.decode() for name, value in headers}
    return TooManyRequests(
        f"{detail}; try again in {seconds} s", headers={**named, "Retry-After": str(seconds)}
    )


# Adds each open window's unshared count to its row, and answers every row's total.
SHARE = """
INSERT INTO rate_limit_windows AS w (limit_name, name, window_index, hits, ends_at)
SELECT u.limit_name, u.name, u.window_index, u.hits, to_timestamp(u.ends_at)
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::float8[])
    AS u (limit_name, name, window_index, hits, ends_at)
ORDER BY 1, 2, 3
ON CONFLICT (limit_name, name, window_index) DO UPDATE SET hits = w.hits + EXCLUDED.hits
RETURNING limit_name, name, window_index, hits
"""
FORGET_ENDED = "DELETE FROM rate_limit_windows WHERE ends_at < now() - interval '1 minute'"


Shared = list[tuple[Window, int, int]]  # (window, count sent, the database's total)


async def share(connection: Any, limits: RateLimits) -> Shared:
    """Our windows' new counts added to the database's in one round trip on an asyncpg
    connection, rows locked in key order (two processes sharing never deadlock). Returns what to
    `settle` once the transaction has committed. Windows with nothing new are not written: a
    process learns the others' counts of a name when it has counted that name itself."""
    sent: dict[tuple[str, str, int], tuple[Window, int]] = {}
    upserted: list[tuple[str, str, int, int, float]] = []  # SHARE's rows: key, count, end
    for windows in (limits.per_key, limits.failed_auth):
        for name, window in windows.open_windows():
            if window.unshared:
                key = (windows.shared_as, name, window.index)
                sent[key] = (window, window.unshared)
                upserted.append((*key, window.unshared, (window.index + 1) * windows.seconds))
    if not upserted:
        return []
    columns = [list(column) for column in zip(*upserted, strict=True)]
    rows = await connection.fetch(SHARE, *columns)
    return [(*sent[(limit, name, index)], hits) for limit, name, index, hits in rows]


def settle(shared: Shared) -> None:
    """After the commit: what was sent is now in the shared count. A total below what this
    process knew (the unlogged table emptied by a crash or a failover) does not lower it."""
    for window, count, total in shared:
        window.shared = max(window.shared + count, total)
        window.unshared -= count


def shared(app: Any) -> AbstractAsyncContextManager[None]:
    """While the served app runs: its counts shared every SHARE_SECONDS, ended rows deleted."""
    return in_background(_share_forever(app), "rate limits shared")


async def _share_forever(app: Any) -> None:
    sessionmaker = app.state.sessionmaker
    rounds, failing = 0, False
    while True:
        await asyncio.sleep(SHARE_SECONDS)
        try:
            async with sessionmaker() as session:
                pending = await share(await driver_connection(session), app.state.rate_limits)
                await session.commit()
            settle(pending)
            if rounds % int(SWEEP_SECONDS / SHARE_SECONDS) == 0:
                async with sessionmaker() as session:
                    await (await driver_connection(session)).execute(FORGET_ENDED)
                    await session.commit()
            if failing:
                logger.info("rate limits shared again")
            failing = False
        except Exception as exc:  # the database gone: counted on here, shared when it is back
            if not failing:
                logger.warning("rate limits not shared: %s", type(exc).__name__)
            failing = True
        rounds += 1
