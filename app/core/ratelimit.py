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

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from app.core.errors import TooManyRequests

# Where the request's rate headers wait for the response (app.core.observability adds them).
RATE_HEADERS_KEY = "perisai.rate_headers"
Headers = list[tuple[bytes, bytes]]


class RateLimits:
    """The per-key limit and the failed-authentication limit of one process."""

    def __init__(self, per_key: str, failed_auth: str) -> None:
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        self.per_key = parse(per_key)
        self.failed_auth = parse(failed_auth)
        self._key_policy = _policy("key", self.per_key)

    def admit(self, owner: str) -> Headers:
        """Count a request of `owner` (a key id, or "admin"); its rate headers, or 429."""
        item = self.per_key
        admitted = self._limiter.hit(item, "key", owner)
        reset_at, remaining = self._limiter.get_window_stats(item, "key", owner)
        seconds = _seconds_until(reset_at)
        rate = f'"key";r={remaining};t={seconds}'.encode()
        headers = [(b"ratelimit-policy", self._key_policy), (b"ratelimit", rate)]
        if not admitted:
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
