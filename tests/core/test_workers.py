"""Worker processes (app/core/workers.py): calls of any size, a file handed over by its
descriptor, a call that fails, a worker that dies or is stopped mid-call."""

import asyncio
import os
import socket
import tempfile
from typing import Any

import psutil
import pytest

from app.core import workers
from app.core.workers import Worker, WorkerFailed, WorkerGone


def serve_echo(sock: socket.socket, parent_pid: int) -> None:
    workers.detach(parent_pid, "perisai-echo")
    asyncio.run(workers.serve(sock, _echo))


async def _echo(message: Any, fd: int | None) -> Any:
    kind, value = message
    if kind == "file":
        assert fd is not None
        with os.fdopen(fd, "rb") as file:
            file.seek(0)
            return file.read()
    if kind == "fail":
        raise KeyError(value)
    if kind == "sleep":
        await asyncio.sleep(value)
    return value


@pytest.fixture
async def worker() -> Any:
    started = Worker(serve_echo, name="echo")
    yield started
    await started.stop()


async def test_answers_of_megabytes_come_back_whole(worker: Worker) -> None:
    big = os.urandom(5 * 1024 * 1024)
    assert await worker.call(("echo", big)) == big
    assert await worker.call(("echo", {"small": 1})) == {"small": 1}


async def test_a_file_is_handed_over_by_its_descriptor(worker: Worker) -> None:
    with tempfile.TemporaryFile() as file:  # no name: only the descriptor reaches the worker
        file.write(b"nik;nama\n")
        file.flush()
        assert await worker.call(("file", None), file.fileno()) == b"nik;nama\n"


async def test_a_failed_call_names_its_error_only_and_the_worker_goes_on(worker: Worker) -> None:
    with pytest.raises(WorkerFailed) as failed:
        await worker.call(("fail", "1209185705900001"))
    assert str(failed.value) == "KeyError"  # not the value, which may be personal data
    assert await worker.call(("echo", "still here")) == "still here"


async def test_a_worker_runs_below_its_parent_and_a_killed_one_is_gone(worker: Worker) -> None:
    assert await worker.call(("echo", 1)) == 1  # serving, so past its start-up
    assert worker.pid is not None
    child = psutil.Process(worker.pid)
    assert child.nice() == workers.NICE
    assert child.name() == "perisai-echo"  # as ps and top show it
    call = asyncio.create_task(worker.call(("sleep", 30)))
    await asyncio.sleep(0.5)
    child.kill()
    with pytest.raises(WorkerGone):
        await asyncio.wait_for(call, timeout=10)


async def test_stopping_a_busy_worker_ends_it(worker: Worker) -> None:
    call = asyncio.create_task(worker.call(("sleep", 30)))
    await asyncio.sleep(0.5)
    await asyncio.wait_for(worker.stop(), timeout=10)
    assert not worker.alive
    with pytest.raises(WorkerGone):
        await asyncio.wait_for(call, timeout=10)
