"""Worker processes of a server's own, for its bulk work: background rosters and batch checks.

That work is Python from end to end (a roster's file read, validated and encoded for COPY; a
batch's 10,000 answers built and encoded). Run in the server's process it shares the event loop
and the GIL with the coverage lookups, and every lookup that arrives meanwhile waits behind it
(docs/scaling.md). In a `Worker` it runs beside them instead: a child started with `spawn`, at a
lower OS priority, that serves one call at a time over a socket pair. Both ends read and write
without holding their event loop; a call may pass a file descriptor along (SCM_RIGHTS), so that
an upload is handed over without being copied.

A worker dies with the process that started it (PR_SET_PDEATHSIG), and leaves Ctrl-C to it: a
killed server leaves no work going on unseen, and what the worker held in the database (a
roster's advisory lock, its transaction) goes with its connections.
"""

import asyncio
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("perisai.workers")

# Above the server's 0: on a full CPU the kernel runs the server first.
NICE = 10
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
STOP_SECONDS = 5
STOP_GRACE_SECONDS = 2
HEADER = struct.Struct("!Q")  # the length of the pickled message that follows


class WorkerGone(Exception):
    """The worker died (or was stopped) before it answered."""


class WorkerFailed(Exception):
    """The call raised in the worker (its type's name is the message: it may quote data)."""


@dataclass(frozen=True, slots=True)
class _Failed:
    error: str


class Worker:
    """A child process serving `target(sock, parent_pid, *args)`'s calls one at a time."""

    def __init__(self, target: Callable[..., None], *args: Any, name: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._socket, theirs = socket.socketpair()
        self._socket.setblocking(False)
        self._process = context.Process(target=target, args=(theirs, os.getpid(), *args), name=name)
        self._process.start()
        theirs.close()
        self._turn = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def call(
        self,
        message: Any,
        fd: int | None = None,
        *,
        sent: Callable[[], Awaitable[None]] | None = None,
    ) -> Any:
        """Sends `message` (and `fd`), awaits `sent()` if given, then waits for the answer
        without holding the loop."""
        async with self._turn:
            try:
                await send(self._socket, message, fd)
            except OSError as exc:
                raise WorkerGone from exc
            if sent is not None:
                await sent()
            try:
                answer, _ = await receive(self._socket)
            except (OSError, EOFError) as exc:
                raise WorkerGone from exc
        if isinstance(answer, _Failed):
            raise WorkerFailed(answer.error)
        return answer

    async def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """Ends the worker and waits for it: an idle one exits by itself once told (within
        `grace`, what it holds written), a busy one is terminated. A call still waiting for
        it raises WorkerGone."""
        with suppress(OSError):
            self._socket.shutdown(socket.SHUT_WR)  # the worker reads the end of its calls
        await asyncio.to_thread(self._process.join, grace)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join, STOP_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            await asyncio.to_thread(self._process.join, STOP_SECONDS)
        async with self._turn:  # a waiting call has read the end (the worker is gone)
            self._socket.close()


async def send(sock: socket.socket, message: Any, fd: int | None = None) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    header = HEADER.pack(len(payload))
    loop = asyncio.get_running_loop()
    if fd is None:
        await loop.sock_sendall(sock, header + payload)
        return
    # One call at a time, each answered before the next: the socket's buffer is empty here.
    if socket.send_fds(sock, [header], [fd]) != HEADER.size:
        raise OSError("the header was cut short")
    await loop.sock_sendall(sock, payload)


async def receive(sock: socket.socket) -> tuple[Any, int | None]:
    """The next message and the descriptor that came with it; EOFError when the other end has
    closed."""
    loop = asyncio.get_running_loop()
    await _readable(loop, sock)
    header, fds, _, _ = socket.recv_fds(sock, HEADER.size, 1)
    if not header:
        raise EOFError
    header += await _exactly(loop, sock, HEADER.size - len(header))
    (length,) = HEADER.unpack(header)
    payload = await _exactly(loop, sock, length)
    # Only our own processes are at the other end of a socket pair.
    return pickle.loads(payload), (fds[0] if fds else None)  # noqa: S301


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


async def _exactly(loop: asyncio.AbstractEventLoop, sock: socket.socket, count: int) -> bytes:
    buffer = bytearray(count)
    view = memoryview(buffer)
    got = 0
    while got < count:
        read = await loop.sock_recv_into(sock, view[got:])
        if read == 0:
            raise EOFError
        got += read
    return bytes(buffer)


# ---------------------------------------------------------------- in the worker


def detach(parent_pid: int, name: str) -> None:
    """Dies with the parent, leaves Ctrl-C to it (it stops the work), yields it the CPU, and
    goes by `name` (at most 15 bytes) in ps and top."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        libc.prctl(PR_SET_NAME, name.encode()[:15])
    if os.getppid() != parent_pid:  # it died before the prctl
        os._exit(1)
    with suppress(OSError):
        os.nice(NICE)


async def serve(sock: socket.socket, handle: Callable[[Any, int | None], Awaitable[Any]]) -> None:
    """Answers each call with `handle(message, fd)`, until the parent closes its end."""
    sock.setblocking(False)
    while True:
        try:
            message, fd = await receive(sock)
        except (EOFError, OSError):
            return
        try:
            answer = await handle(message, fd)
        except Exception as exc:
            # The message may quote data: the type only, here and in the parent.
            logger.error("a worker's call failed", extra={"fields": {"error": type(exc).__name__}})
            answer = _Failed(type(exc).__name__)
        await send(sock, answer)
