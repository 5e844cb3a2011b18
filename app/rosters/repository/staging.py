"""The staging tables of a batch (their columns from columns.py), filled by COPY.

The batch's own connection stages in temporary tables of its transaction. The second
connection (lanes.py) cannot: a transaction to be prepared may not use temporary tables. Its
tables are unlogged ones, made and committed BEFORE its transaction begins, never emptied
inside it (a chunk table per chunk, no TRUNCATE) and dropped after it ends: a relation made or
given a new file inside a transaction that is rolled back by a backend outliving a killed
postmaster leaves a zero-byte file that crash recovery then fails on ("could not create file
...: File exists"). Tables whose process died are dropped by the sweep (lanes.py).
"""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.rosters.columns import STAGE_COLUMNS, STAGE_DDL

LANE_PREFIX = "roster_lane_"


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

    @classmethod
    def for_lane(cls, batch_id: uuid.UUID) -> "StageTables":
        """The second connection's (its chunk: the first of lane_chunks)."""
        base = f"{LANE_PREFIX}{batch_id.hex}"
        return cls(
            f"{base}_stage", f"{base}_outcome", f"{base}_known", f"{base}_chunk_0",
            f"{base}_duplicates",
        )  # fmt: skip

    def names(self) -> tuple[str, ...]:
        return (self.stage, self.outcome, self.known, self.chunk, self.duplicates)


def lane_chunks(batch_id: uuid.UUID, count: int) -> list[str]:
    """The second connection's chunk tables, one per chunk it may take."""
    return [f"{LANE_PREFIX}{batch_id.hex}_chunk_{n}" for n in range(count)]


def lane_batch(table: str) -> uuid.UUID | None:
    """The batch of a second connection's table."""
    try:
        return uuid.UUID(hex=table.removeprefix(LANE_PREFIX)[:32])
    except ValueError:
        return None


async def create_stage(
    connection: asyncpg.Connection,
    tables: StageTables,
    *,
    temporary: bool = True,
    chunks: tuple[str, ...] = (),
) -> None:
    """Temporary tables dropped at commit, or (for the second connection, outside any
    transaction) unlogged ones, with `chunks` as its chunk tables, for drop_tables to drop."""
    kind, drop = ("TEMP", " ON COMMIT DROP") if temporary else ("UNLOGGED", "")
    chunk_tables = chunks or (tables.chunk,)
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
        CREATE {kind} TABLE {tables.duplicates} (nik bigint PRIMARY KEY){drop};
        """
        + "".join(f"CREATE {kind} TABLE {t} (LIKE {tables.stage}){drop};" for t in chunk_tables)
    )


async def drop_tables(connection: asyncpg.Connection, names: list[str]) -> None:
    if names:
        await connection.execute(f"DROP TABLE IF EXISTS {', '.join(names)}")


async def lane_tables(connection: asyncpg.Connection) -> dict[uuid.UUID, list[str]]:
    """The second connections' tables in the database, by batch."""
    rows = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND starts_with(tablename, $1)",
        LANE_PREFIX,
    )
    found: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        batch_id = lane_batch(row["tablename"])
        if batch_id is not None:
            found.setdefault(batch_id, []).append(row["tablename"])
    return found


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
    """COPY of `records`, given up when the connection is lost: asyncpg (0.32) waits for the
    socket to take more data without end when the server goes while it is full (seen with
    the postmaster killed mid-roster: the batch never finished, its slot never freed)."""
    lost = asyncio.get_running_loop().create_future()

    def on_lost(_: Any) -> None:
        if not lost.done():
            lost.set_result(None)

    connection.add_termination_listener(on_lost)
    copy = asyncio.ensure_future(
        connection.copy_records_to_table(table, records=records, columns=list(STAGE_COLUMNS))
    )
    try:
        await asyncio.wait({copy, lost}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        copy.cancel()
        raise
    finally:
        connection.remove_termination_listener(on_lost)
    if not copy.done():
        copy.cancel()
        raise asyncpg.ConnectionDoesNotExistError("the connection was lost during COPY")
    copy.result()


async def analyze(connection: asyncpg.Connection, table: str) -> None:
    await connection.execute(f"ANALYZE {table}")
