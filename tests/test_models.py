"""app/models says what the migrations build: the metadata against `alembic upgrade head`.

Alembic's autogenerate comparison covers tables, columns, types, nullability, server defaults,
primary, unique and foreign keys, and indexes with their columns or expressions. It does not
compare an index's WHERE, so the partial indexes are matched by name and predicate presence
below; check and exclusion constraints and triggers are the migrations' alone (see the model
docstrings).
"""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Index, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Base


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def declared_partial_indexes() -> set[str]:
    return {
        str(index.name)
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if isinstance(index, Index) and index.dialect_options["postgresql"]["where"] is not None
    }


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        found = await connection.run_sync(differences)
        partial = set(
            (
                await connection.execute(
                    text(
                        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid "
                        "WHERE n.nspname = 'public' AND i.indpred IS NOT NULL "
                        "AND k.oid IS NULL"
                    )
                )
            ).scalars()
        )
    assert found == [], "\n".join(map(str, found))
    assert declared_partial_indexes() == partial
