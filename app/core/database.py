"""Engine, sessions, and the one transaction each request runs in."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.embedded import embedded_url
from app.core.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, otherwise the embedded server's (started on demand)."""
    return settings.database_url or embedded_url(settings.data_dir)


def async_url(url: str) -> str:
    """Any postgres URL spelling, as SQLAlchemy's asyncpg dialect wants it."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def plain_url(url: str) -> str:
    """The URL as asyncpg.connect wants it (no SQLAlchemy driver suffix)."""
    return "postgresql://" + async_url(url)[len("postgresql+asyncpg://") :]


def asyncpg_url(engine: AsyncEngine) -> str:
    """The engine's URL, password included, for a connection or pool of asyncpg's own."""
    return plain_url(engine.url.render_as_string(hide_password=False))


def engine_of(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncEngine | None:
    """The app's own engine; None when its sessions share one connection (the tests')."""
    bind = sessionmaker.kw.get("bind")
    return bind if isinstance(bind, AsyncEngine) else None


def statement_cache_args(size: int) -> dict[str, Any]:
    """asyncpg's statement cache; 0 (PgBouncer in transaction mode, before its 1.21 and
    max_prepared_statements) also gives SQLAlchemy's statements unique names, so that two
    clients' statements never meet on one server connection."""
    if size > 0:
        return {"statement_cache_size": size, "prepared_statement_cache_size": size}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__perisai_{uuid.uuid4().hex}__",
    }


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 30,
    statement_cache_size: int = 100,
    pre_ping: bool = False,
) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=pre_ping,
        connect_args={
            "server_settings": {"application_name": "perisai", "timezone": "UTC"},
            **statement_cache_args(statement_cache_size),
        },
    )


def engine_for(url: str, settings: Settings, *, connections: int | None = None) -> AsyncEngine:
    """The engine of a served process, sized by its settings; a worker process's holds
    `connections`, each pinged when taken (a worker may sit idle across a database restart,
    with no request of its own to find its connections dead)."""
    return create_engine(
        url,
        pre_ping=connections is not None,
        pool_size=settings.db_pool_size if connections is None else connections,
        max_overflow=settings.db_max_overflow if connections is None else 0,
        pool_timeout=settings.db_pool_timeout,
        statement_cache_size=settings.db_statement_cache_size,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session (the request's, or the test's transaction)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def release_connection(session: AsyncSession) -> None:
    """Ends the session's transaction so far and gives its connection back to the pool, for
    a request that has only read (the caller, the resource) and next waits on something else:
    a body to receive, a file to parse. The next statement takes a connection again."""
    await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request; with scope="function" it commits before the response goes."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
