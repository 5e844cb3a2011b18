"""Rate limits: requests per API key, and failed authentications per client address.

Both are counted by the `limits` library (pinned in pyproject.toml) with a fixed window in
memory, per process: with several uvicorn workers or replicas each counts on its own, so a
key may make up to (processes x limit) requests in a window. That is deliberate: the limits
guard the service against a runaway client or a key-guessing loop, they are not a billing
quota, and a shared store would add a round trip to the coverage lookup.

Answers carry the IETF draft's headers (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy: "key";q=6000;w=60` and `RateLimit: "key";r=5999;t=42` (quota, window
seconds, remaining, seconds to the reset); a refusal is 429 `rate_limited` with `Retry-After`.
"""

import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from app.core.errors import TooManyRequests

# Where the request's rate headers wait for the response (app.core.observability adds them).
RATE_HEADERS_KEY = "perisai.rate_headers"
Headers = list[tuple[bytes, bytes]]
SWEEP_SECONDS = 60.0


class SweptMemoryStorage(MemoryStorage):
    """limits' memory storage without its expiry thread.

    Its own `incr` starts a `threading.Timer` whenever the last one has run (10 ms later): under
    load a new thread every few requests, which took the coverage lookup from about 340 to 500
    us of CPU. A counter past its window is dropped when next read anyway; the others (keys and
    addresses not seen again) are swept here, inline, at most once a minute.
    """

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the private thread starter
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class RateLimits:
    """The per-key limit and the failed-authentication limit of one process."""

    def __init__(self, per_key: str, failed_auth: str) -> None:
        self.storage = SweptMemoryStorage()
        self._limiter = FixedWindowRateLimiter(self.storage)
        self.per_key = parse(per_key)
        self.failed_auth = parse(failed_auth)
        self._key_policy = _policy("key", self.per_key)
        self._key_window = self.per_key.get_expiry()
        self._windows: dict[str, list[Any]] = {}  # owner -> [its storage key, window end]

    def admit(self, owner: str) -> Headers:
        """Count a request of `owner` (a key id, or "admin"); its rate headers, or 429.

        FixedWindowRateLimiter.hit and get_window_stats, on the storage itself: it runs on
        every request, the coverage lookup's too, so each owner's storage key is built once,
        and the window's end is noted when the count starts (as the storage notes its expiry).
        """
        window = self._windows.get(owner)
        if window is None:
            window = self._windows[owner] = [self.per_key.key_for("key", owner), 0.0]
        count = self.storage.incr(window[0], self._key_window)
        now = time.time()
        if count == 1 or window[1] <= now:
            window[1] = now + self._key_window
        seconds = max(1, math.ceil(window[1] - now))
        remaining = max(0, self.per_key.amount - count)
        rate = f'"key";r={remaining};t={seconds}'.encode()
        headers = [(b"ratelimit-policy", self._key_policy), (b"ratelimit", rate)]
        if count > self.per_key.amount:
            raise _refusal("This API key made too many requests", headers, seconds)
        return headers

    def refuse_failing_address(self, address: str) -> None:
        """429 when `address` has used up its failed authentications in this window."""
        item = self.failed_auth
        if self._limiter.test(item, "auth", address):
            return
        reset_at, _ = self._limiter.get_window_stats(item, "auth", address)
        seconds = _seconds_until(reset_at)
        headers = [
            (b"ratelimit-policy", _policy("failed_auth", item)),
            (b"ratelimit", f'"failed_auth";r=0;t={seconds}'.encode()),
        ]
        raise _refusal("Too many failed authentications from this address", headers, seconds)

    def note_failure(self, address: str) -> None:
        self._limiter.hit(self.failed_auth, "auth", address)


def _policy(name: str, item: RateLimitItem) -> bytes:
    return f'"{name}";q={item.amount};w={item.get_expiry()}'.encode()


def _seconds_until(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


def _refusal(detail: str, headers: Headers, seconds: int) -> TooManyRequests:
    named = {name.decode().title(): value.decode() for name, value in headers}
    return TooManyRequests(
        f"{detail}; try again in {seconds} s", headers={**named, "Retry-After": str(seconds)}
    )
