"""Every revision upgrades and downgrades on a real database: head, base, head again."""

import asyncio
import uuid

from alembic import command
from sqlalchemy import text

from app.core.database import create_engine
from tests.conftest import _execute_on_server, alembic_config, server_url, with_database


async def table_names(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return set(rows.scalars())
    finally:
        await engine.dispose()


async def test_migrations_round_trip() -> None:
    server = await asyncio.to_thread(server_url)
    name = f"perisai_migrations_{uuid.uuid4().hex[:8]}"
    await _execute_on_server(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    config = alembic_config(url)
    try:
        await asyncio.to_thread(command.upgrade, config, "head")
        at_head = await table_names(url)
        assert {"organizations", "regions", "agreements", "registrations"} <= at_head

        await asyncio.to_thread(command.downgrade, config, "base")
        assert await table_names(url) == {"alembic_version"}

        await asyncio.to_thread(command.upgrade, config, "head")
        assert await table_names(url) == at_head
    finally:
        await _execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
