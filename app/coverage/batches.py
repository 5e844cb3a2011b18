"""Batch checks in worker processes (app/core/workers.py), so that a 10,000-NIK batch's Python
(its answers built, 4 MB of JSON encoded) never holds up the lookups of the server's loop.

A served app has up to COVERAGE_BATCH_PROCESSES workers, each started with its first batch. The
server checks the request (`require_checkable`) and decides where it reads
(`on_replica_or_primary`); the worker reads on pools of its own, writes the access log through a
writer of its own (its spool beside the server's: what a dead worker spooled, the next writer to
start replays) and answers the JSON. A worker that dies is replaced, and its batch is answered
in the server's own loop.
"""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import cycle
from typing import Any

from fastapi import FastAPI

from app.core.accesslog import SPOOL_SUBDIR, AccessLogWriter, access_log_writer
from app.core.auth import Principal
from app.core.database import asyncpg_url, create_sessionmaker, engine_for, plain_url
from app.core.errors import is_database_unavailable
from app.core.giveway import GiveWay
from app.core.manners import gzipped
from app.core.observability import configure_logging
from app.core.replica import on_replica_or_primary, read_on_replica
from app.core.settings import Settings
from app.core.workers import Worker, WorkerGone, detach, serve
from app.coverage import service
from app.coverage.runtime import PoolConnection, lookup_connection, lookup_pool
from app.coverage.schemas import CoverageCheckRequest

NAME = "perisai-batches"
GIVES_WAY_SECONDS = 1.0  # the most a batch waits in all for the server to get its cores


class _Unavailable:
    """A worker's answer when the database it read on was away."""


UNAVAILABLE = _Unavailable()


@dataclass
class BatchWorkers:
    """The workers of a served app, taken in turn, each started with the first batch it gets
    (an app that is never asked a batch starts none)."""

    url: str
    settings: Settings
    workers: list[Worker | None]
    _turns: Any = field(init=False)

    def __post_init__(self) -> None:
        self._turns = cycle(range(len(self.workers)))

    def next(self) -> tuple[int, Worker]:
        index = next(self._turns)
        worker = self.workers[index]
        if worker is None:
            worker = self.workers[index] = _start(self.url, self.settings)
        return index, worker

    async def replace(self, index: int, gone: Worker) -> None:
        """The place of `gone` left for a new worker (unless a call beside this one did it)."""
        if self.workers[index] is gone:
            self.workers[index] = None
        await gone.stop()  # reaped

    async def stop(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in self.workers if worker is not None))


async def start(app: FastAPI) -> BatchWorkers | None:
    """The served app's workers (none without an engine of its own, or with the setting at 0)."""
    settings: Settings = app.state.settings
    engine = getattr(app.state, "engine", None)
    if engine is None or settings.coverage_batch_processes == 0:
        app.state.batch_workers = None
        return None
    url = engine.url.render_as_string(hide_password=False)
    slots: list[Worker | None] = [None] * settings.coverage_batch_processes
    workers = app.state.batch_workers = BatchWorkers(url, settings, slots)
    return workers


def _start(url: str, settings: Settings) -> Worker:
    return Worker(serve_batches, url, settings, name=NAME)


@dataclass(frozen=True, slots=True)
class Answer:
    """A batch's JSON, gzipped when `encoding` says so."""

    body: bytes
    encoding: str | None = None


async def check_many_json(
    app: FastAPI, principal: Principal, data: CoverageCheckRequest, *, gzip: bool
) -> Answer:
    """The batch's answer, from a worker when the app has them; compressed there when the
    client accepts gzip (`gzip`), so that the server's loop does not compress 4 MB either."""
    workers: BatchWorkers | None = getattr(app.state, "batch_workers", None)
    if workers is None:
        return Answer(await _in_this_loop(app, principal, data))
    service.require_checkable(data)  # a 422 is the server's to answer
    index, worker = workers.next()
    minimum = workers.settings.gzip_min_bytes if gzip else None

    async def on(replica: bool) -> Answer:
        answer = await worker.call((principal, data, replica, minimum))
        if isinstance(answer, _Unavailable):
            raise ConnectionError("the database the batch read on is away")
        assert isinstance(answer, Answer)
        return answer

    try:
        return await on_replica_or_primary(app, on)
    except WorkerGone:
        await workers.replace(index, worker)
        return Answer(await _in_this_loop(app, principal, data))


async def _in_this_loop(app: FastAPI, principal: Principal, data: CoverageCheckRequest) -> bytes:
    writer = access_log_writer(app)
    return await read_on_replica(
        app,
        lambda connect: service.check_many_json(connect, principal, data=data, access_log=writer),
        partial(lookup_connection, app),
    )


# ---------------------------------------------------------------- in the worker


def serve_batches(sock: socket.socket, parent_pid: int, url: str, settings: Settings) -> None:
    detach(parent_pid, NAME)
    configure_logging(settings.log_level)
    asyncio.run(_serve(sock, url, settings, parent_pid))


async def _serve(sock: socket.socket, url: str, settings: Settings, parent_pid: int) -> None:
    engine = engine_for(url, settings, connections=1)  # the access log's
    writer = AccessLogWriter(
        create_sessionmaker(engine), spool_dir=settings.data_dir / SPOOL_SUBDIR
    )
    size = service.PARALLEL_QUERIES
    primary = await lookup_pool(asyncpg_url(engine), settings, size=size, min_size=0)
    replica = None
    if settings.database_read_url:
        replica = await lookup_pool(
            plain_url(settings.database_read_url), settings, size=size, min_size=0
        )

    async def handle(
        message: tuple[Principal, CoverageCheckRequest, bool, int | None], _: Any
    ) -> Any:
        principal, data, on_replica, gzip_from = message
        pool = replica if on_replica and replica is not None else primary
        give_way = GiveWay(parent_pid, GIVES_WAY_SECONDS)

        @asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            async with give_way.step(), PoolConnection(pool) as connection:
                yield connection

        try:
            body = await service.check_many_json(connect, principal, data=data, access_log=writer)
        except Exception as exc:
            if is_database_unavailable(exc):
                return UNAVAILABLE
            raise
        compressed = gzipped(body, gzip_from) if gzip_from is not None else None
        return Answer(body) if compressed is None else Answer(compressed, "gzip")

    await writer.start()
    try:
        await serve(sock, handle)
    finally:
        await writer.stop()
        for pool in (primary, replica):
            if pool is not None:
                await pool.close()
        await engine.dispose()
