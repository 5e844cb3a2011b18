"""Alembic environment: async, on the URL the caller set or the service's own."""

import asyncio
import logging
from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.database import async_url, resolve_database_url
from app.core.settings import get_settings
from app.models import Base

target_metadata = Base.metadata
logger = logging.getLogger("perisai.migrations")

# Replicas that start together take this lock in turn: the first migrates, the others wait for
# it and then find the database at head (alembic reads the version after it, in the same
# transaction). A transaction lock, not a session one, so that it works behind PgBouncer too.
MIGRATION_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('perisai:migrations', 0))")


def database_url() -> str:
    configured = context.config.get_main_option("sqlalchemy.url")
    return async_url(configured or resolve_database_url(get_settings()))


def run_with_connection(connection: Connection) -> None:
    applied: list[str] = []

    def count(
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        applied.append(step.up_revision_id or "")

    context.configure(
        connection=connection, target_metadata=target_metadata, on_version_apply=count
    )
    with context.begin_transaction():
        connection.execute(MIGRATION_LOCK)
        context.run_migrations()
    if applied:
        logger.info("migrations applied", extra={"fields": {"steps": len(applied)}})
    else:
        logger.info("migrations already at head")


async def run_online() -> None:
    engine = create_async_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(run_with_connection)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")
asyncio.run(run_online())
