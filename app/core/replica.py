"""The read replica (DATABASE_READ_URL): a streaming standby for the read-heavy paths.

Coverage lookups (single and batch), registration lists, summaries and reports read there while
it is reachable and no more than READ_MAX_LAG_SECONDS behind; otherwise they read on the
primary, as writes and the reads that must see the caller's own writes always do.

The lag is measured as the age of the newest primary state the standby has replayed: a monitor
samples the primary's WAL position every TICK_SECONDS and the standby's replay position, and
the standby is as fresh as the last sample it has replayed past. Unlike the time since the last
replayed transaction, this stays 0 on an idle primary, and unlike comparing the standby's
received and replayed positions, it grows when the standby stops receiving.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.database import (
    SessionDep,
    asyncpg_url,
    create_sessionmaker,
    engine_for,
    statement_cache_args,
)

logger = logging.getLogger("perisai.replica")

T = TypeVar("T")
Connect = Callable[[], AbstractAsyncContextManager[Any]]

TICK_SECONDS = 0.25
CHECK_TIMEOUT_SECONDS = 0.5
HISTORY = 1024  # samples kept: over four minutes at TICK_SECONDS
PRIMARY_LSN = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
STANDBY_LSN = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"


@dataclass
class LagMeter:
    """The standby's staleness from the primary's sampled WAL positions (see the module doc)."""

    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def observe_primary(self, at: float, lsn: int) -> None:
        self.samples.append((at, lsn))

    def lag(self, now: float, replayed: int) -> float:
        if not self.samples or replayed >= self.samples[-1][1]:
            return 0.0
        fresh_as_of = None
        for at, lsn in self.samples:
            if lsn > replayed:
                break
            fresh_as_of = at
        oldest = self.samples[0][0]
        return now - (fresh_as_of if fresh_as_of is not None else oldest)


@dataclass
class ReadReplica:
    """The standby's engine and lookup pool, and whether reads may go there now."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    pool: Any
    max_lag: float
    primary: Any  # an asyncpg connection to the primary, for its WAL position
    meter: LagMeter = field(default_factory=LagMeter)
    reachable: bool = False
    lag_seconds: float | None = None
    monitor: asyncio.Task[None] | None = None
    reads: dict[str, int] = field(default_factory=lambda: {"replica": 0, "primary": 0})

    def count(self, on_replica: bool) -> None:
        self.reads["replica" if on_replica else "primary"] += 1

    @property
    def usable(self) -> bool:
        return self.reachable and self.lag_seconds is not None and self.lag_seconds <= self.max_lag

    @property
    def state(self) -> str:
        if not self.reachable:
            return "unreachable"
        return "in_use" if self.usable else "lagging"

    def mark_unreachable(self) -> None:
        """A read on the standby failed for want of it: the next reads go to the primary."""
        if self.reachable:
            logger.warning("read replica unreachable; reading on the primary")
        self.reachable = False

    async def check(self) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                self.meter.observe_primary(time.monotonic(), await self._primary_lsn())
                async with self.pool.acquire() as connection:
                    replayed = await connection.fetchval(STANDBY_LSN)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self.mark_unreachable()
            return
        was = self.state
        self.reachable = replayed is not None
        self.lag_seconds = self.meter.lag(time.monotonic(), replayed or 0)
        if self.state != was:
            logger.info("read replica state", extra={"fields": {"state": self.state}})

    async def _primary_lsn(self) -> int:
        try:
            return int(await self.primary.fetchval(PRIMARY_LSN))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            # The primary's own trouble is /readyz's to report; keep the last position.
            return self.meter.samples[-1][1] if self.meter.samples else 0

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(TICK_SECONDS)

    async def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.monitor
        with contextlib.suppress(Exception):
            await self.primary.close()
        await self.pool.close()
        await self.engine.dispose()


async def start(app: FastAPI) -> ReadReplica | None:
    """The replica of a served app with DATABASE_READ_URL, its monitor running; else None."""
    settings = app.state.settings
    if not settings.database_read_url or getattr(app.state, "engine", None) is None:
        app.state.read_replica = None
        return None
    engine = engine_for(settings.database_read_url, settings)
    cache = statement_cache_args(settings.db_statement_cache_size)["statement_cache_size"]
    pool = await asyncpg.create_pool(
        asyncpg_url(engine),
        min_size=0,
        max_size=settings.coverage_pool_size,
        statement_cache_size=cache,
        timeout=CHECK_TIMEOUT_SECONDS * 2,
        server_settings={"application_name": "perisai-read", "timezone": "UTC"},
    )
    primary = await asyncpg.connect(
        asyncpg_url(app.state.engine), server_settings={"application_name": "perisai-lag"}
    )
    replica = ReadReplica(
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        pool=pool,
        max_lag=settings.read_max_lag_seconds,
        primary=primary,
    )
    await replica.check()
    replica.monitor = asyncio.create_task(replica.run(), name="read replica monitor")
    app.state.read_replica = replica
    return replica


def replica_of(app: Any) -> ReadReplica | None:
    replica: ReadReplica | None = getattr(app.state, "read_replica", None)
    return replica


# What a read on the standby raises when the standby is gone (not when the query is wrong).
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
)


async def read_on_replica(
    app: Any,
    work: Callable[[Connect], Awaitable[T]],
    primary: Connect,
) -> T:
    """`work` on a replica connection while it is usable, else (or when the standby turns out to
    be gone meanwhile) on `primary`'s."""
    replica = replica_of(app)
    if replica is None:  # the lookups' path: no frame more than the read itself
        return await work(primary)
    pool = replica.pool

    async def on(on_replica: bool) -> T:
        return await work(pool.acquire if on_replica else primary)

    return await on_replica_or_primary(app, on)


async def on_replica_or_primary(app: Any, work: Callable[[bool], Awaitable[T]]) -> T:
    """`work(True)` (read on the standby) while the replica is usable, else (or when the standby
    turns out to be gone meanwhile: `work` raised one of UNREACHABLE) `work(False)`."""
    replica = replica_of(app)
    if replica is None:
        return await work(False)
    if replica.usable:
        try:
            result = await work(True)
        except UNREACHABLE:
            replica.mark_unreachable()
        else:
            replica.count(True)
            return result
    replica.count(False)
    return await work(False)


async def get_read_session(request: Request, session: SessionDep) -> AsyncIterator[AsyncSession]:
    """The request's session for the read-heavy routes: one on the replica while it is usable,
    else the request's own (the one its authentication used: no second connection)."""
    replica = replica_of(request.app)
    if replica is None or not replica.usable:
        if replica is not None:
            replica.count(False)
        yield session
        return
    replica.count(True)
    async with replica.sessionmaker() as read:
        try:
            yield read
        finally:
            await read.rollback()  # it only read


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
