"""The dispatcher: sends due deliveries, signed, with bounded concurrency, and retries failures.

It runs inside the app (the webhooks router's lifespan) unless WEBHOOK_DISPATCHER=false, or on
its own as `python -m app dispatch`; any number of them share the work (queue.py). It wakes on
NOTIFY `webhook_deliveries` (a trigger fires it when deliveries are inserted) and polls every
WEBHOOK_POLL_SECONDS for retries coming due. A delivery is sent at most
WEBHOOK_CONCURRENCY at a time overall and WEBHOOK_ENDPOINT_CONCURRENCY per endpoint, each with
connect and read timeouts, so that a slow or dead receiver slows no one else and never the API.
"""

import asyncio
import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

import asyncpg
import httpx
import orjson

from app.core import clock
from app.core.settings import Settings
from app.webhooks import queue, signing
from app.webhooks.urls import Policy, UrlRefused, check_url

logger = logging.getLogger("perisai.webhooks")

# After the first failure, then each next one: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2  # each wait is drawn from +-20% of its step, so that retries do not arrive in step
DISABLE_AFTER = timedelta(days=3)
BODY_LIMIT = 1024
CHANNEL = "webhook_deliveries"


def retry_at(now: datetime, attempts_before: int) -> datetime | None:
    """When to try again after a failed attempt (the delivery's `attempts_before` + 1-th);
    None once every step of the schedule is used."""
    if attempts_before >= len(SCHEDULE):
        return None
    step = SCHEDULE[attempts_before]
    return now + step * random.uniform(1 - JITTER, 1 + JITTER)


class Dispatcher:
    def __init__(
        self,
        dsn: str,
        settings: Settings,
        *,
        now: Callable[[], datetime] = clock.now,
        name: str = "dispatcher",
    ) -> None:
        self.dsn = dsn
        self.settings = settings
        self.now = now
        self.name = name
        self.policy: Policy = settings.url_policy
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        # Attempts done but not yet recorded, written together by one flush at a time.
        self._results: list[queue.Result] = []
        self._flushing: asyncio.Task[None] | None = None
        self.sent = 0

    async def run(self) -> None:
        """Until cancelled: claim what is due and free slots allow, send, wait for more."""
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=4, server_settings={"application_name": self.name}
        )
        listener: asyncpg.Connection = await asyncpg.connect(self.dsn)
        await listener.add_listener(CHANNEL, lambda *_: self._wake.set())
        try:
            async with self._client() as client:
                await self._loop(pool, client)
        finally:
            for task in self._inflight:
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            if self._flushing is not None:
                await asyncio.gather(self._flushing, return_exceptions=True)
            with suppress(Exception):
                await listener.close()
            await pool.close()

    async def _loop(self, pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
        while True:
            self._wake.clear()
            free = self.settings.webhook_concurrency - len(self._inflight)
            claimed: list[queue.Claimed] = []
            if free > 0:
                try:
                    claimed = await self._claim(pool, free)
                except (asyncpg.PostgresError, OSError) as exc:
                    logger.warning("webhook claim failed", extra={"fields": {"error": repr(exc)}})
            for job in claimed:
                task = asyncio.create_task(self._deliver(pool, client, job))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if claimed and len(claimed) == free:
                continue
            await clock.woken_or_after(self._wake, self.settings.webhook_poll_seconds)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free: claim again

    async def _claim(self, pool: asyncpg.Pool, free: int) -> list[queue.Claimed]:
        return await queue.claim(
            pool,
            now=self.now(),
            lease=self.lease,
            per_endpoint=self.settings.webhook_endpoint_concurrency,
            limit=free,
        )

    def _client(self) -> httpx.AsyncClient:
        settings = self.settings
        timeout = httpx.Timeout(
            connect=settings.webhook_connect_timeout,
            read=settings.webhook_read_timeout,
            write=settings.webhook_read_timeout,
            pool=settings.webhook_read_timeout,
        )
        limits = httpx.Limits(
            max_connections=settings.webhook_concurrency, max_keepalive_connections=8
        )
        return httpx.AsyncClient(
            timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
        )

    async def _deliver(
        self, pool: asyncpg.Pool, client: httpx.AsyncClient, job: queue.Claimed
    ) -> None:
        outcome = await self.send(client, job)
        retry = None if outcome.delivered else retry_at(outcome.at, job.attempts)
        self._results.append(queue.Result(job, outcome, retry))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(pool))

    async def _flush(self, pool: asyncpg.Pool) -> None:
        """Records the attempts done, in batches of whatever finished meanwhile."""
        while self._results:
            results, self._results = self._results, []
            try:
                await queue.finish(pool, results, disable_after=DISABLE_AFTER)
            except (asyncpg.PostgresError, OSError) as exc:
                # Their leases run out and they are sent again: receivers deduplicate by id.
                logger.warning("webhook results not saved", extra={"fields": {"error": repr(exc)}})
                continue
            self.sent += sum(1 for r in results if r.outcome.delivered)
            self._wake.set()  # their endpoints' slots are free again: claim

    async def send(self, client: httpx.AsyncClient, job: queue.Claimed) -> queue.Outcome:
        """One attempt: the signed POST and what came of it (never raises for the receiver)."""
        body = orjson.dumps(
            {"type": job.type, "timestamp": job.created_at.isoformat(), "data": job.data}
        ).decode()
        headers = signing.headers(message_id=job.event_id, body=body, secrets_=job.secrets)
        at = self.now()
        started = time.perf_counter()
        status: int | None = None
        text: str | None = None
        error: str | None = None
        try:
            await check_url(job.url, self.policy)
            async with client.stream("POST", job.url, content=body, headers=headers) as answer:
                status = answer.status_code
                text = await _head(answer)
            if not 200 <= status < 300:
                error = f"http_{status}"
        except UrlRefused as exc:
            error = exc.code
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.ConnectError:
            error = "connection_failed"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        latency = round((time.perf_counter() - started) * 1000)
        return queue.Outcome(at, status, latency, error, text)


async def _head(answer: httpx.Response) -> str:
    """The first BODY_LIMIT bytes of the answer, as text; the rest is not read."""
    kept = b""
    async for chunk in answer.aiter_bytes():
        kept += chunk
        if len(kept) >= BODY_LIMIT:
            break
    return kept[:BODY_LIMIT].decode(errors="replace")[:BODY_LIMIT]
