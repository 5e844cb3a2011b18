"""A second database connection for a large background roster, committed with the batch.

One backend inserts a million registrations on one core, mostly inside the exclusion index;
a second one, taking every other chunk, puts the other core to work. Its transaction is
two-phase: prepared once its chunks are settled, committed right after the batch's own
transaction (COMMIT PREPARED), so that the batch lands whole or not at all. If the process
dies between the two commits, the prepared half waits for the sweep (jobs.sweep), which
commits it when its batch was applied and rolls it back otherwise.

Its staging tables are made and committed before its transaction begins and dropped after it
ends (repository/staging.py says why); the sweep drops those whose batch no live process holds.

It needs `max_prepared_transactions` > 0 on the server (the embedded one has it); without it,
or when the app has no engine of its own (the tests' shared connection), rosters use one.
"""

import asyncio
import logging
import uuid
from contextlib import suppress

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.database import asyncpg_url, engine_of
from app.events import service as events
from app.rosters.repository import batches, staging
from app.rosters.repository.staging import StageTables

logger = logging.getLogger("perisai.rosters")

GID_PREFIX = "perisai_roster_"
# What a lost connection raises: the server's errors, the driver's, the socket's.
LOST = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
# The sweep does not wait behind a live transaction's locks to drop staging tables.
SWEEP_LOCK_TIMEOUT = "1s"


def gid_of(batch_id: uuid.UUID) -> str:
    # A UUID's hex only: safe in SQL text.
    return f"{GID_PREFIX}{batch_id.hex}"


def gid_sql(batch_id_column: str) -> str:
    """gid_of in SQL, of a uuid column."""
    return f"'{GID_PREFIX}' || replace({batch_id_column}::text, '-', '')"


def batch_of(gid: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=gid.removeprefix(GID_PREFIX))
    except ValueError:
        return None


async def connect(sessionmaker: async_sessionmaker[AsyncSession]) -> asyncpg.Connection | None:
    """A connection of its own to the app's database, when the app has an engine."""
    engine = engine_of(sessionmaker)
    if engine is None:
        return None
    connection: asyncpg.Connection = await asyncpg.connect(
        asyncpg_url(engine),
        server_settings={"application_name": "perisai-roster", "timezone": "UTC"},
    )
    return connection


class SecondLane:
    """The second connection's transaction: begun, prepared, then committed or rolled back;
    and its staging tables: `tables`, with `chunks` as the chunk tables it takes in turn."""

    def __init__(self, connection: asyncpg.Connection, batch_id: uuid.UUID, chunks: int) -> None:
        self.connection = connection
        self.gid = gid_of(batch_id)
        self.tables = StageTables.for_lane(batch_id)
        self.chunks = tuple(staging.lane_chunks(batch_id, max(chunks, 1)))
        self.prepared = False
        # Once the batch's own transaction committed, the prepared half must land too.
        self.batch_committed = False

    @classmethod
    async def open(
        cls, sessionmaker: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, *, chunks: int
    ) -> "SecondLane | None":
        """None when the app or the server cannot give one: the roster then uses one. Its
        tables are committed before its transaction begins."""
        connection = None
        try:
            connection = await connect(sessionmaker)
            if connection is None:
                return None
            if int(await connection.fetchval("SHOW max_prepared_transactions")) < 1:
                await connection.close()
                return None
            lane = cls(connection, batch_id, chunks)
            await staging.create_stage(connection, lane.tables, temporary=False, chunks=lane.chunks)
            await connection.execute("BEGIN")
            await events.before_prepare(connection)
        except LOST as exc:
            logger.warning(
                "no second connection for a roster",
                extra={"fields": {"batch_id": str(batch_id), "error": type(exc).__name__}},
            )
            if connection is not None:
                connection.terminate()  # the sweep drops what it made
            return None
        return lane

    async def prepare(self) -> None:
        await self.connection.execute(f"PREPARE TRANSACTION '{self.gid}'")
        self.prepared = True

    async def commit(self) -> None:
        """Right after the batch's transaction committed. Never raises: what it cannot
        commit, the sweep will (the batch is applied); it may have done so already."""
        self.batch_committed = True
        if not self.prepared:
            return
        try:
            await self.connection.execute(f"COMMIT PREPARED '{self.gid}'")
            await events.after_commit_prepared(self.connection)
        except asyncpg.exceptions.UndefinedObjectError:
            pass
        except LOST as exc:
            self._left_to_the_sweep(exc)
            return
        self.prepared = False

    async def close(self) -> None:
        """Rolls back what is not to be committed, drops the tables and closes the connection.
        Never raises (it runs shielded, where nobody would see it): what it cannot do, the
        sweep will."""
        if self.connection.is_closed():
            logger.warning(
                "a roster's second connection was lost", extra={"fields": {"gid": self.gid}}
            )
            return
        try:
            if self.prepared and not self.batch_committed:
                await self.connection.execute(f"ROLLBACK PREPARED '{self.gid}'")
                self.prepared = False
            elif self.connection.is_in_transaction():
                await self.connection.execute("ROLLBACK")
            if not self.prepared:  # a prepared half still holds them
                await staging.drop_tables(self.connection, self.table_names())
        except LOST as exc:
            self._left_to_the_sweep(exc)
        finally:
            try:
                await self.connection.close(timeout=5)
            except LOST:
                self.connection.terminate()

    def table_names(self) -> list[str]:
        t = self.tables
        return [t.stage, t.outcome, t.known, t.duplicates, *self.chunks]

    def _left_to_the_sweep(self, exc: BaseException) -> None:
        logger.warning(
            "a roster's second transaction was left to the sweep",
            extra={"fields": {"gid": self.gid, "error": type(exc).__name__}},
        )


async def resolve_prepared(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Commits the prepared halves of applied batches, rolls back the others: those whose
    batch no live process holds. The prepared transactions it settled."""
    connection = await connect(sessionmaker)
    if connection is None:
        return []
    try:
        return [
            gid
            for gid in await batches.prepared_transactions(connection, GID_PREFIX)
            if await _resolve(connection, gid)
        ]
    finally:
        await connection.close()


async def _resolve(connection: asyncpg.Connection, gid: str) -> bool:
    batch_id = batch_of(gid)
    if batch_id is None or not await batches.try_hold_batch(connection, batch_id):
        return False
    try:
        verb = "COMMIT" if await batches.batch_applied(connection, batch_id) else "ROLLBACK"
        try:
            await connection.execute(f"{verb} PREPARED '{gid}'")
        except asyncpg.exceptions.UndefinedObjectError:
            return False  # its own process got there first
        return True
    finally:
        await batches.release_batch(connection, batch_id)


async def drop_orphan_tables(sessionmaker: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
    """Drops the second connections' staging tables of batches that no live process holds and
    no prepared half still uses. The batches whose tables it dropped."""
    connection = await connect(sessionmaker)
    if connection is None:
        return []
    try:
        await connection.execute(f"SET lock_timeout = '{SWEEP_LOCK_TIMEOUT}'")
        prepared = {
            batch_of(gid) for gid in await batches.prepared_transactions(connection, GID_PREFIX)
        }
        dropped = []
        for batch_id, names in (await staging.lane_tables(connection)).items():
            if batch_id in prepared or not await batches.try_hold_batch(connection, batch_id):
                continue
            try:
                with suppress(asyncpg.exceptions.LockNotAvailableError):
                    await staging.drop_tables(connection, names)
                    dropped.append(batch_id)
            finally:
                await batches.release_batch(connection, batch_id)
        return dropped
    finally:
        await connection.close()
