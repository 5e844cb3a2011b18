"""Test fixtures: one database per test session built by the migrations; each test rolled back."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.core.database import async_url, create_engine, create_sessionmaker, plain_url
from app.core.embedded import embedded_url
from app.core.settings import Settings
from app.main import create_app

REPO = Path(__file__).resolve().parents[1]
ADMIN_KEY = "test-admin-key-" + "x" * 32
REFERENCE_TABLES = {
    "regions",
    "roles",
    "role_labels",
    "elections",
    "role_age_limits",
    "benefit_schedules",
}


def server_url() -> str:
    """The server the tests use: DATABASE_URL when set, else the embedded one."""
    return os.environ.get("DATABASE_URL") or embedded_url(REPO / ".data")


def alembic_config(url: str) -> Config:
    config = Config(str(REPO / "alembic.ini"))
    config.set_main_option("script_location", str(REPO / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def with_database(url: str, database: str) -> str:
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


async def _execute_on_server(url: str, sql: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    server = await asyncio.to_thread(server_url)
    name = f"perisai_test_{uuid.uuid4().hex[:10]}"
    await _execute_on_server(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        yield url
    finally:
        await _execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


def app_settings(database_url: str, **overrides: Any) -> Settings:
    """The tests' settings, with `overrides` (e.g. max_upload_bytes=2048)."""
    return Settings(
        environment="test", database_url=database_url, admin_api_key=ADMIN_KEY, **overrides
    )


def app_on(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str, **overrides: Any
) -> FastAPI:
    """An app with the tests' settings and `overrides` whose requests run on `sessionmaker`."""
    app = create_app(app_settings(database_url, **overrides))
    app.state.sessionmaker = sessionmaker
    return app


@asynccontextmanager
async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that calls `app` in process, through its whole ASGI stack."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def app(database_url: str, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    return app_on(sessionmaker, database_url)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


async def truncate_non_reference_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        names = (
            await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ).scalars()
        tables = [n for n in names if n not in REFERENCE_TABLES and n != "alembic_version"]
        if tables:
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def committing_app(database_url: str, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """An app whose requests commit for real, on separate connections: for concurrency tests."""
    app = create_app(app_settings(database_url))
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        yield app
    finally:
        await truncate_non_reference_tables(engine)


@pytest.fixture
async def committing_client(committing_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(committing_app) as client:
        yield client
