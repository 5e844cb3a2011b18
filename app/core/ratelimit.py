"""Rate limits: requests per API key, and failed authentications per client address.

The limits are written as the `limits` library (pinned in pyproject.toml) parses them
(`6000/minute`, `20 per minute`) and counted here in fixed windows in memory, per process:
with several uvicorn workers or replicas each counts on its own, so a key may make up to
(processes x limit) requests in a window. That is deliberate: the limits guard the service
against a runaway client or a key-guessing loop, they are not a billing quota, and a shared
store would add a round trip to the coverage lookup. The counting is ours, not the library's
storage: its memory storage takes a lock, wraps every call and starts a timer thread to expire
counters, and the per-key count runs on every request (measured with bench/bench_coverage.py,
it was a tenth of what the lookup added over its baseline).

Answers carry the IETF draft's headers (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy: "key";q=6000;w=60` and `RateLimit: "key";r=5999;t=42` (quota, window
seconds, remaining, seconds to the reset); a refusal is 429 `rate_limited` with `Retry-After`.
"""

import math
import time

from limits import RateLimitItem, parse

from app.core.errors import TooManyRequests

# Where the request's rate headers wait for the response (app.core.observability adds them).
RATE_HEADERS_KEY = "perisai.rate_headers"
Headers = list[tuple[bytes, bytes]]
SWEEP_SECONDS = 60.0


class FixedWindows:
    """Counts per name in fixed windows of one limit's length: a window starts with the
    first count after the last one ended. Windows past their end are swept at most once a
    minute, inline (names never seen again, as the addresses of failed guesses are)."""

    def __init__(self, item: RateLimitItem) -> None:
        self.amount = item.amount
        self.seconds = item.get_expiry()
        self._windows: dict[str, list[float]] = {}  # name -> [window end, count]
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def hit(self, name: str) -> tuple[int, float]:
        """Count one for `name`: the count in its window and the seconds until the window ends."""
        now = time.monotonic()
        window = self._windows.get(name)
        if window is None or window[0] <= now:
            if now >= self._next_sweep:
                self._sweep(now)
            window = self._windows[name] = [now + self.seconds, 0]
        window[1] += 1
        return int(window[1]), window[0] - now

    def peek(self, name: str) -> tuple[int, float]:
        """The count of `name`'s window (0 when none is open) and the seconds it has left."""
        now = time.monotonic()
        window = self._windows.get(name)
        if window is None or window[0] <= now:
            return 0, 0.0
        return int(window[1]), window[0] - now

    def __len__(self) -> int:
        """How many names hold a window (some may have ended since the last sweep)."""
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_SECONDS
        for name in [name for name, window in self._windows.items() if window[0] <= now]:
            del self._windows[name]


class RateLimits:
    """The per-key limit and the failed-authentication limit of one process."""

    def __init__(self, per_key: str, failed_auth: str) -> None:
        self.per_key = FixedWindows(parse(per_key))
        self.failed_auth = FixedWindows(parse(failed_auth))
        self._key_policy = _policy("key", self.per_key)

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
            (b"ratelimit-policy", _policy("failed_auth", self.failed_auth)),
            (b"ratelimit", f'"failed_auth";r=0;t={seconds}'.encode()),
        ]
        raise _refusal("Too many failed authentications from this address", headers, seconds)

    def note_failure(self, address: str) -> None:
        self.failed_auth.hit(address)


def _policy(name: str, windows: FixedWindows) -> bytes:
    return f'"{name}";q={windows.amount};w={windows.seconds}'.encode()


def _refusal(detail: str, headers: Headers, seconds: int) -> TooManyRequests:
    named = {name.decode().title(): value.decode() for name, value in headers}
    return TooManyRequests(
        f"{detail}; try again in {seconds} s", headers={**named, "Retry-After": str(seconds)}
    )
