"""The real server for tests that need one (a browser): `python -m app serve` in a subprocess
on a free port of 127.0.0.1, started, awaited and stopped by the roster benchmark's own code."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.bench_rosters import free_port, start_server, stop, wait_ready
from tests.conftest import ADMIN_KEY, REPO


@contextmanager
def real_server(database_url: str, admin_key: str) -> Iterator[str]:
    """The base URL of a server on `database_url` (already migrated) that takes `admin_key`."""
    port = free_port()
    server = start_server(database_url, admin_key, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        yield base
    finally:
        stop(server)


START_SECONDS = 90


def worker_processes(server_pid: int, name: str) -> list[psutil.Process]:
    """A server's worker processes (app/core/workers.py) that go by `name`."""
    return [child for child in psutil.Process(server_pid).children() if child.name() == name]


@dataclass
class ServerProcess:
    """A `python -m app serve` of a test, its output kept in `log`."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop(self.process)


def start_server_process(url: str, log: Path, env: dict[str, str] | None = None) -> ServerProcess:
    """A server on `url` (migrated at its start-up) on a free port, taking the tests' admin key."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "ADMIN_API_KEY": ADMIN_KEY,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        **(env or {}),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=REPO,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(f"http://127.0.0.1:{port}", process, log)


def wait_until_ready(server: ServerProcess) -> None:
    """Until /readyz answers 200; fails with the server's output if it exits or never does."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited during start-up:\n{server.output()}")
        try:
            if httpx.get(f"{server.base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not become ready:\n{server.output()}")
