"""What the coverage domain keeps running in a served app: the lookup pool and the log writer.

The coverage lookup is the hottest path of the service, so it does not go through the
request's SQLAlchemy session: a session per request (open, commit, close, with a connection
checked out and returned through the greenlet bridge) costs more CPU than the lookup itself.
Lookups run on a small asyncpg pool of their own instead. It is safe because a lookup is one
read-only statement: it needs no transaction around it, changes no session state, and leaves
nothing for a connection reset to clean up (so the pool skips asyncpg's reset query too).

Without the lifespan (the tests build the app with a sessionmaker bound to their own
transaction) there is no pool: lookups then run on a session of `app.state.sessionmaker`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.database import asyncpg_url
from app.coverage import repository
from app.coverage.accesslog import AccessLogWriter

SPOOL_SUBDIR = Path("spool") / "access-log"


async def _no_reset(connection: Any) -> None:
    """Lookups leave no session state behind (see the module docstring)."""


@dataclass
class CoverageRuntime:
    pool: Any | None
    access_log: AccessLogWriter

    async def stop(self) -> None:
        await self.access_log.stop()
        if self.pool is not None:
            await self.pool.close()


async def start(app: FastAPI) -> CoverageRuntime:
    """Open the lookup pool (when the app owns an engine) and start the access-log writer."""
    settings = app.state.settings
    pool = None
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        pool = await asyncpg.create_pool(
            asyncpg_url(engine),
            min_size=1,
            max_size=settings.db_pool_size,
            reset=_no_reset,
            server_settings={"application_name": "perisai-coverage", "timezone": "UTC"},
        )
    writer = AccessLogWriter(app.state.sessionmaker, spool_dir=settings.data_dir / SPOOL_SUBDIR)
    try:
        await writer.start()
    except BaseException:
        if pool is not None:
            await pool.close()
        raise
    runtime = CoverageRuntime(pool, writer)
    app.state.coverage = runtime
    app.state.access_log = writer
    return runtime


def lookup_connection(app: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """An asyncpg connection for coverage reads: from the pool, else from a session."""
    runtime: CoverageRuntime | None = getattr(app.state, "coverage", None)
    if runtime is not None and runtime.pool is not None:
        acquired: contextlib.AbstractAsyncContextManager[Any] = runtime.pool.acquire()
        return acquired
    return _session_connection(app.state.sessionmaker)


@contextlib.asynccontextmanager
async def _session_connection(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Any]:
    async with sessionmaker() as session:
        yield await repository.driver_connection(session)
        await session.commit()


def access_log_writer(app: Any) -> AccessLogWriter | None:
    writer: AccessLogWriter | None = getattr(app.state, "access_log", None)
    return writer
