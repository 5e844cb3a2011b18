"""What the coverage domain keeps running in a served app: the lookup pool.

The coverage lookup is the hottest path of the service, so it does not go through the
request's SQLAlchemy session: a session per request (open, commit, close, with a connection
checked out and returned through the greenlet bridge) costs more CPU than the lookup itself.
Lookups run on a small asyncpg pool of their own instead. It is safe because a lookup is one
read-only statement: it needs no transaction around it, changes no session state, and leaves
nothing for a connection reset to clean up (so the pool skips asyncpg's reset query too).

Without the lifespan (the tests build the app with a sessionmaker bound to their own
transaction) there is no pool: lookups then run on a session of `app.state.sessionmaker`, one
at a time.

When the database goes away (a restart), a lookup that fails for it closes its connection and
expires the others, so that the pool connects anew instead of handing out dead connections
one failed lookup at a time once the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.database import asyncpg_url, driver_connection
from app.core.errors import is_database_unavailable


async def _no_reset(connection: Any) -> None:
    """Lookups leave no session state behind (see the module docstring)."""


@dataclass
class CoverageRuntime:
    pool: Any | None

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()


async def lookup_pool(url: str, settings: Any, *, size: int, min_size: int = 1) -> Any:
    """A pool for coverage reads on `url` (asyncpg's form of it)."""
    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=size,
        statement_cache_size=settings.db_statement_cache_size,
        reset=_no_reset,
        server_settings={"application_name": "perisai-coverage", "timezone": "UTC"},
    )


async def start(app: FastAPI) -> CoverageRuntime:
    """Open the lookup pool when the app owns an engine."""
    settings = app.state.settings
    pool = None
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        pool = await lookup_pool(asyncpg_url(engine), settings, size=settings.coverage_pool_size)
    runtime = CoverageRuntime(pool)
    app.state.coverage = runtime
    return runtime


def lookup_connection(app: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """An asyncpg connection for coverage reads: from the pool, else from a session."""
    runtime: CoverageRuntime | None = getattr(app.state, "coverage", None)
    if runtime is not None and runtime.pool is not None:
        return PoolConnection(runtime.pool)
    return _session_connection(app.state.sessionmaker, _session_turns(app))


def _session_turns(app: Any) -> asyncio.Lock:
    """Sessions of one sessionmaker may share a connection (the tests bind theirs to one): the
    reads of a batch check, which ask for connections at once, take them in turn."""
    turns: asyncio.Lock | None = getattr(app.state, "lookup_session_turns", None)
    if turns is None:
        turns = app.state.lookup_session_turns = asyncio.Lock()
    return turns


class PoolConnection:
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
