"""What the coverage domain keeps running in a served app: the lookup pool, and the batch
checks' pool.

The coverage lookup is the hottest path of the service, so it does not go through the
request's SQLAlchemy session: a session per request (open, commit, close, with a connection
checked out and returned through the greenlet bridge) costs more CPU than the lookup itself.
Lookups run on a small asyncpg pool of their own instead. It is safe because a lookup is one
read-only statement: it needs no transaction around it, changes no session state, and leaves
nothing for a connection reset to clean up (so the pool skips asyncpg's reset query too).

Without the lifespan (the tests build the app with a sessionmaker bound to their own
transaction) there is no pool: lookups then run on a session of `app.state.sessionmaker`, one
at a time.

Batch checks read on a pool of their own (COVERAGE_BULK_POOL_SIZE), whose backends run at
BULK_NICE where they can (app/core/priority.py): ten thousand NIKs wait behind one, and a
process runs at most that many of their queries at once.

When the database goes away (a restart), a lookup that fails for it closes its connection and
expires the others, so that the pool connects anew instead of handing out dead connections
one failed lookup at a time once the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import priority
from app.core.database import asyncpg_url, driver_connection
from app.core.errors import is_database_unavailable
from app.core.settings import Settings


async def _no_reset(connection: Any) -> None:
    """Lookups leave no session state behind (see the module docstring)."""


@dataclass
class CoverageRuntime:
    pool: Any | None
    bulk_pool: Any | None = None

    async def stop(self) -> None:
        for pool in (self.pool, self.bulk_pool):
            if pool is not None:
                await pool.close()


async def start(app: FastAPI) -> CoverageRuntime:
    """Open the lookup and batch pools when the app owns an engine."""
    settings: Settings = app.state.settings
    runtime = CoverageRuntime(None)
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        runtime.pool = await _pool(
            engine, settings, "perisai-coverage", settings.coverage_pool_size
        )
        runtime.bulk_pool = await _pool(
            engine,
            settings,
            "perisai-coverage-bulk",
            settings.coverage_bulk_pool_size,
            init=partial(_behind_lookups, nice=settings.bulk_nice),
            min_size=0,
        )
    app.state.coverage = runtime
    return runtime


async def _pool(
    engine: Any, settings: Settings, name: str, size: int, *, min_size: int = 1, init: Any = None
) -> Any:
    return await asyncpg.create_pool(
        asyncpg_url(engine),
        min_size=min_size,
        max_size=size,
        statement_cache_size=settings.db_statement_cache_size,
        reset=_no_reset,
        init=init,
        server_settings={"application_name": name, "timezone": "UTC"},
    )


async def _behind_lookups(connection: Any, *, nice: int) -> None:
    await priority.lower(connection, nice)


def lookup_connection(app: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """An asyncpg connection for coverage reads: from the pool, else from a session."""
    runtime: CoverageRuntime | None = getattr(app.state, "coverage", None)
    if runtime is not None and runtime.pool is not None:
        return _PoolConnection(runtime.pool)
    return _session_connection(app.state.sessionmaker, _session_turns(app))


def bulk_connection(app: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """An asyncpg connection for a batch check's reads: from the batch pool, else as above."""
    runtime: CoverageRuntime | None = getattr(app.state, "coverage", None)
    if runtime is not None and runtime.bulk_pool is not None:
        return _PoolConnection(runtime.bulk_pool)
    return lookup_connection(app)


def _session_turns(app: Any) -> asyncio.Lock:
    """Sessions of one sessionmaker may share a connection (the tests bind theirs to one): the
    reads of a batch check, which ask for connections at once, take them in turn."""
    turns: asyncio.Lock | None = getattr(app.state, "lookup_session_turns", None)
    if turns is None:
        turns = app.state.lookup_session_turns = asyncio.Lock()
    return turns


class _PoolConnection:
    """A pool connection for one lookup, and what a database gone away asks of the pool (see
    the module docstring). A class: an asynccontextmanager's generator cost a microsecond."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._connection: Any = None

    async def __aenter__(self) -> Any:
        try:
            self._connection = await self._pool.acquire()
        except BaseException as exc:
            await self._if_unavailable(exc)
            raise
        return self._connection

    async def __aexit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> None:
        if exc is not None and is_database_unavailable(exc):
            self._connection.terminate()  # released closed: the pool replaces it
        try:
            await self._pool.release(self._connection)
        except BaseException as released:
            await self._if_unavailable(released)
            raise
        if exc is not None:
            await self._if_unavailable(exc)

    async def _if_unavailable(self, exc: BaseException) -> None:
        if is_database_unavailable(exc):
            await self._pool.expire_connections()


@contextlib.asynccontextmanager
async def _session_connection(
    sessionmaker: async_sessionmaker[AsyncSession], turns: asyncio.Lock
) -> AsyncIterator[Any]:
    async with turns, sessionmaker() as session:
        yield await driver_connection(session)
        await session.commit()
