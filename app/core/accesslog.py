"""The access log: every read of a NIK or of personal data, recorded off the request path.

Every such read (coverage checks, claims, registrations, roster problem rows) is personal-data
processing (UU 27/2022), so each is logged with the key that made it. A row per read written
in the request would add a round trip to the fastest path of the service (the coverage
lookup); instead the request hands its reads to this writer, which buffers them in memory and
writes them with one COPY every `interval` seconds (0.5) or as soon as
`max_entries` (1,000) are waiting. The application's lifespan starts it and, on shutdown,
stops it with a last flush.

Surviving a crash: each `record()` also appends one line to a local spool segment
(`<data_dir>/spool/access-log/*.spool`, one `os.write`, no fsync) before the request answers.
A segment is deleted only after the COPY of its rows has committed. The writer holds an
exclusive `flock` on the segments it owns; on startup it replays and deletes every segment
it can lock, i.e. those whose process has died (uvicorn workers each run their own writer,
and a live worker's segments stay locked). So:

- a process crash (kill -9, OOM, an unhandled error) loses nothing: the kernel keeps what
  was written, and the next process started on the same data directory replays it (in a
  container, keep DATA_DIR on a volume, or the spool goes with the container);
- a machine crash or power loss can lose what the page cache had not yet written out:
  the reads of the last seconds, up to the kernel's writeback delay (30 s by default);
- delivery is at least once: a crash between the COPY's commit and the segment's unlink
  replays that batch again, so a read can appear twice, never zero times;
- while the database is unreachable the rows stay buffered (coverage reads fail then too,
  so the buffer cannot grow without bound) and the segments stay on disk.

When no writer is running (the tests build the app without its lifespan) the reads are
copied in on the request's own connection instead, which in the tests is their transaction:
correct, only slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.auth import Principal
from app.core.clock import woken_or_after
from app.core.database import driver_connection

logger = logging.getLogger("perisai.access_log")

# One read: the NIK looked up and how many registrations the answer showed.
Read = tuple[int, int]
# A row of access_log as COPY takes it, in ACCESS_COLUMNS order.
AccessRow = tuple[datetime, uuid.UUID | None, uuid.UUID | None, int, str, int]
ACCESS_COLUMNS = ["at", "api_key_id", "organization_id", "nik", "endpoint", "registrations"]

SEGMENT_SUFFIX = ".spool"
LOCK_NAME = ".lock"
SPOOL_SUBDIR = Path("spool") / "access-log"


async def copy_access_rows(connection: Any, rows: Sequence[AccessRow]) -> None:
    """COPY on an asyncpg connection (the writer's, or a request's when no writer runs)."""
    await connection.copy_records_to_table("access_log", records=rows, columns=ACCESS_COLUMNS)


@dataclass(frozen=True, slots=True)
class ReadGroup:
    """The reads of one request: who, when, through which endpoint, and each NIK read."""

    at: datetime
    api_key_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    endpoint: str
    reads: Sequence[Read]

    def rows(self) -> Iterable[AccessRow]:
        for nik, count in self.reads:
            yield (self.at, self.api_key_id, self.organization_id, nik, self.endpoint, count)

    def line(self) -> bytes:
        reads = ",".join([f"{nik}:{count}" for nik, count in self.reads])
        who = _ids_text(self.api_key_id, self.organization_id)
        return f"{self.at.isoformat()}\t{who}\t{self.endpoint}\t{reads}\n".encode()

    @classmethod
    def parse(cls, line: str) -> ReadGroup:
        at, key, organization, endpoint, reads = line.rstrip("\n").split("\t")
        return cls(
            datetime.fromisoformat(at),
            uuid.UUID(key) if key else None,
            uuid.UUID(organization) if organization else None,
            endpoint,
            [_read(item) for item in reads.split(",") if item],
        )


@functools.lru_cache(maxsize=1024)
def _ids_text(api_key_id: uuid.UUID | None, organization_id: uuid.UUID | None) -> str:
    """The key and organization columns of a spool line: the same few callers, every read."""
    return f"{api_key_id or ''}\t{organization_id or ''}"


def _read(item: str) -> Read:
    nik, count = item.split(":")
    return int(nik), int(count)


class _Segment:
    """A spool file this process appends to and holds an exclusive lock on."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self.fd)

    def release(self) -> None:
        os.close(self.fd)


class Spool:
    """The directory of segments, with a directory lock so that creating one and claiming
    orphans never interleave (between two workers starting and writing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._serial = 0

    @contextlib.contextmanager
    def _locked_directory(self) -> Iterator[None]:
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def open_segment(self) -> _Segment:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._serial += 1
        name = f"{os.getpid()}-{self._serial}-{uuid.uuid4().hex[:8]}{SEGMENT_SUFFIX}"
        path = self.directory / name
        with self._locked_directory():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return _Segment(path, fd)

    def claim_orphans(self) -> list[tuple[_Segment, list[ReadGroup]]]:
        """Segments of dead processes, locked for us, with what they hold."""
        if not self.directory.is_dir():
            return []
        claimed: list[tuple[_Segment, list[ReadGroup]]] = []
        with self._locked_directory():
            for path in sorted(self.directory.glob("*" + SEGMENT_SUFFIX)):
                fd = os.open(path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)  # a live process owns it
                    continue
                segment = _Segment(path, fd)
                claimed.append((segment, _parse_segment(path)))
        return claimed


def _parse_segment(path: Path) -> list[ReadGroup]:
    groups: list[ReadGroup] = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            groups.append(ReadGroup.parse(line))
        except ValueError:
            # A line cut short by the crash itself: the rest of the segment is still good.
            logger.warning("skipped a damaged access-log spool line %s:%d", path.name, number)
    return groups


class AccessLogWriter:
    """Buffers reads and writes them to access_log in batches; see the module docstring."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        spool_dir: Path | None,
        interval: float = 0.5,
        max_entries: int = 1_000,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._spool = Spool(spool_dir) if spool_dir is not None else None
        self.interval = interval
        self.max_entries = max_entries
        self._groups: list[ReadGroup] = []
        self._waiting = 0
        self._segment: _Segment | None = None
        self._pending: list[_Segment] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._spool_failed = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def waiting(self) -> int:
        """Reads recorded and not yet in the table."""
        return self._waiting

    def record(self, group: ReadGroup) -> None:
        """Take a request's reads; the spool line is written before this returns.

        A spool that cannot be written (disk full, permissions) does not fail the read: the
        entry still reaches the table with the next flush, only without the crash guard.
        """
        if not group.reads:
            return
        self._groups.append(group)
        self._waiting += len(group.reads)
        if self._waiting >= self.max_entries:
            self._wake.set()
        if self._spool is not None:
            try:
                if self._segment is None:
                    self._segment = self._spool.open_segment()
                self._segment.append(group.line())
            except OSError as exc:
                if not self._spool_failed:
                    logger.warning("access-log spool not written: %s", type(exc).__name__)
                self._spool_failed = True
            else:
                self._spool_failed = False

    async def start(self) -> None:
        """Replay what dead processes left in the spool, then flush in the background."""
        if self.running:
            return
        await self.replay_orphans()
        self._task = asyncio.create_task(self._run(), name="access-log-writer")

    async def stop(self) -> None:
        """Stop the background task and write what is still buffered."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.flush()
        except Exception as exc:
            # The spool keeps them: the next start replays them.
            logger.warning("access log not flushed at shutdown: %s", type(exc).__name__)
        for segment in self._pending:
            segment.release()
        self._pending = []
        if self._segment is not None:
            self._segment.release()
            self._segment = None

    async def replay_orphans(self) -> int:
        if self._spool is None:
            return 0
        claimed = await asyncio.to_thread(self._spool.claim_orphans)
        replayed = 0
        for segment, groups in claimed:
            try:
                await self._write(groups)
            except Exception as exc:
                logger.warning("access-log spool not replayed: %s", type(exc).__name__)
                segment.release()
                continue
            replayed += sum(len(group.reads) for group in groups)
            segment.discard()
        if replayed:
            logger.warning("replayed %d access-log rows left by a stopped process", replayed)
        return replayed

    async def flush(self) -> int:
        """Write every buffered read now; the number written."""
        async with self._lock:
            groups, self._groups = self._groups, []
            self._waiting = 0
            # Everything recorded from here on goes to a new segment.
            if self._segment is not None:
                self._pending.append(self._segment)
                self._segment = None
            if not groups:
                return 0
            try:
                written = await self._write(groups)
            except BaseException:
                self._groups[:0] = groups
                self._waiting += sum(len(group.reads) for group in groups)
                raise
            for segment in self._pending:
                segment.discard()
            self._pending = []
            return written

    async def _write(self, groups: Sequence[ReadGroup]) -> int:
        rows = [row for group in groups for row in group.rows()]
        async with self._sessionmaker() as session:
            await copy_access_rows(await driver_connection(session), rows)
            await session.commit()
        return len(rows)

    async def _run(self) -> None:
        while True:
            await woken_or_after(self._wake, self.interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:
                logger.warning("access log flush failed, will retry: %s", type(exc).__name__)


async def record_reads(
    connection: Any,
    writer: AccessLogWriter | None,
    *,
    api_key_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    endpoint: str,
    reads: Sequence[Read],
) -> None:
    """Log the reads of one request: to the running writer, else on the lookup's connection
    (in the tests, that is their transaction)."""
    group = ReadGroup(datetime.now(UTC), api_key_id, organization_id, endpoint, reads)
    if writer is not None and writer.running:
        writer.record(group)
    elif reads:
        await copy_access_rows(connection, list(group.rows()))


async def record_session_reads(
    session: AsyncSession,
    writer: AccessLogWriter | None,
    principal: Principal,
    *,
    endpoint: str,
    reads: Sequence[Read],
) -> None:
    """`record_reads` for a request that reads through its session: without a running writer
    the rows are copied in on the session's connection, in the request's transaction."""
    if not reads:
        return
    await record_reads(
        await driver_connection(session),
        writer,
        api_key_id=principal.key_id,
        organization_id=principal.organization_id,
        endpoint=endpoint,
        reads=reads,
    )


async def start_writer(app: FastAPI) -> AccessLogWriter:
    """The served app's writer, started (after replaying what dead processes left spooled)."""
    settings = app.state.settings
    writer = AccessLogWriter(app.state.sessionmaker, spool_dir=settings.data_dir / SPOOL_SUBDIR)
    await writer.start()
    app.state.access_log = writer
    return writer


def access_log_writer(app: Any) -> AccessLogWriter | None:
    """The app's running writer; None without the lifespan (reads are then copied in-request)."""
    writer: AccessLogWriter | None = getattr(app.state, "access_log", None)
    return writer


async def app_access_log(request: Request) -> AccessLogWriter | None:
    return access_log_writer(request.app)


AccessLogDep = Annotated[AccessLogWriter | None, Depends(app_access_log)]
