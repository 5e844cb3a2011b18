"""The staging tables of a batch (their columns from columns.py), filled by COPY."""

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from app.rosters.columns import STAGE_COLUMNS, STAGE_DDL


@dataclass(frozen=True, slots=True)
class StageTables:
    stage: str
    outcome: str
    known: str
    chunk: str
    duplicates: str

    @classmethod
    def for_batch(cls, batch_id: uuid.UUID) -> "StageTables":
        # Names made of a UUID's hex only: safe to put in SQL text.
        return cls(
            f"roster_stage_{batch_id.hex}",
            f"roster_outcome_{batch_id.hex}",
            f"roster_known_{batch_id.hex}",
            f"roster_chunk_{batch_id.hex}",
            f"roster_duplicates_{batch_id.hex}",
        )


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def create_stage(
    connection: asyncpg.Connection, tables: StageTables, *, temporary: bool = True
) -> None:
    """Temporary tables, or (for a transaction to be prepared, where temporary tables may not
    be used) unlogged ones that drop_stage drops before the PREPARE."""
    kind, drop = ("TEMP", " ON COMMIT DROP") if temporary else ("UNLOGGED", "")
    await connection.execute(
        f"""
        CREATE {kind} TABLE {tables.stage} ({STAGE_DDL}){drop};
        CREATE {kind} TABLE {tables.outcome} (
            row_number integer PRIMARY KEY,
            outcome text NOT NULL,
            existing_id bigint,
            replaces_id bigint,
            conflict_id bigint,
            conflict jsonb,
            codes text[],
            messages text[]
        ){drop};
        CREATE {kind} TABLE {tables.known} (nik bigint PRIMARY KEY){drop};
        CREATE {kind} TABLE {tables.chunk} (LIKE {tables.stage}){drop};
        CREATE {kind} TABLE {tables.duplicates} (nik bigint PRIMARY KEY){drop}
        """
    )


async def drop_stage(connection: asyncpg.Connection, tables: StageTables) -> None:
    names = (tables.stage, tables.outcome, tables.known, tables.chunk, tables.duplicates)
    await connection.execute(f"DROP TABLE {', '.join(names)}")


async def copy_duplicates(
    connection: asyncpg.Connection, tables: StageTables, niks: list[int]
) -> None:
    if niks:
        await connection.copy_records_to_table(
            tables.duplicates, records=[(nik,) for nik in niks], columns=["nik"]
        )


async def start_chunk(connection: asyncpg.Connection, tables: StageTables) -> None:
    await connection.execute(f"TRUNCATE {tables.chunk}")


async def keep_chunk(connection: asyncpg.Connection, tables: StageTables) -> None:
    """Adds the chunk's rows to the whole file's, and leaves out of the chunk the valid rows
    that replace someone: those are settled last (settle_replacements_last)."""
    await connection.execute(
        f"""
        INSERT INTO {tables.stage} SELECT * FROM {tables.chunk};
        DELETE FROM {tables.chunk} WHERE replaces_nik IS NOT NULL AND codes IS NULL
        """
    )


async def settle_replacements_last(connection: asyncpg.Connection, tables: StageTables) -> int:
    """The chunk becomes the file's valid rows that replace someone (PAW); their count."""
    await start_chunk(connection, tables)
    result: str = await connection.execute(
        f"INSERT INTO {tables.chunk} SELECT * FROM {tables.stage} "
        "WHERE replaces_nik IS NOT NULL AND codes IS NULL"
    )
    return int(result.rsplit(" ", 1)[-1])


async def copy_rows(
    connection: asyncpg.Connection, table: str, records: list[tuple[Any, ...]]
) -> None:
    await connection.copy_records_to_table(table, records=records, columns=list(STAGE_COLUMNS))


async def analyze(connection: asyncpg.Connection, table: str) -> None:
    await connection.execute(f"ANALYZE {table}")
