"""Fault tests: a PostgreSQL of their own, from the embedded binaries (its own data directory,
its socket there, no TCP), and `python -m app serve` in subprocesses, killed and restarted by
PID.

They skip under DATABASE_URL: they need no other server, and the suite's second run (on a
server) would only repeat them."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from app.cli import migrate
from app.core.database import plain_url
from app.core.embedded import DEFAULT_DATABASE, EmbeddedServer
from bench.bench_rosters import free_port, generate, setup_through_api, stop, wait_ready
from tests.conftest import ADMIN_KEY, REPO

ROSTER_ROWS = 100_000  # enough for the second connection (ROSTER_PARALLEL_MIN_ROWS)


@dataclass
class FaultWorld:
    server: EmbeddedServer
    url: str  # DEFAULT_DATABASE, the one `serve` uses in the embedded mode
    agreement_id: str
    counterpart: dict[str, str]
    roster: Path
    base: str  # a service on `url` (DATABASE_URL) for the whole package
    service: "Serving"


def _skip_on_a_server() -> None:
    if os.environ.get("DATABASE_URL"):
        pytest.skip("fault tests run on their own embedded PostgreSQL (the embedded run)")


@pytest.fixture(scope="package")
def world() -> Iterator[FaultWorld]:
    """The server (not owned by the tests: a `serve` in the embedded mode may stop it), its
    database migrated, an active agreement with a KPPS cohort, and a 100,000-row roster."""
    _skip_on_a_server()
    # Not under pytest's shared temporary root, which other sessions prune.
    (REPO / ".data").mkdir(exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="faults-", dir=REPO / ".data"))
    server = EmbeddedServer(data_dir)
    server.start()
    try:
        server.psql(f'CREATE DATABASE "{DEFAULT_DATABASE}"')
        url = server.url()
        migrate(url)
        roster = data_dir / "roster.csv"
        generate(roster, ROSTER_ROWS, asyncio.run(_villages(url)))
        service = Serving(url)
        with service as base:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
            ) as admin:
                agreement_id, counterpart = setup_through_api(admin, ROSTER_ROWS)
            yield FaultWorld(server, url, agreement_id, counterpart, roster, base, service)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def running(world: FaultWorld) -> None:
    """Each test starts with the server up, whatever the one before did to it."""
    world.server.start()


async def _villages(url: str) -> list[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT code FROM regions WHERE level = 'village' AND code LIKE '12.09.%' LIMIT 200"
        )
        return [row["code"] for row in rows]
    finally:
        await connection.close()


def start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`python -m app serve` on `port`, with `env` over the test's environment (no DATABASE_URL
    unless `env` gives one), its log lines to `log`."""
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=REPO,
        env={
            **base_env,
            "ADMIN_API_KEY": ADMIN_KEY,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "ENVIRONMENT": "development",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


class Serving:
    """A serve process on `url` (DATABASE_URL), ready on entry, stopped on exit."""

    def __init__(self, url: str | None, **env: str) -> None:
        self.port = free_port()
        self.env = {**env, **({"DATABASE_URL": url} if url else {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="perisai-serve-", suffix=".log")[1])

    def errors(self) -> list[str]:
        """The service's log lines at ERROR, and tracebacks."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if '"level":"ERROR"' in line or "Traceback" in line]

    def __enter__(self) -> str:
        self.process = start_serve(self.env, self.port, self.log)
        base = f"http://127.0.0.1:{self.port}"
        wait_ready(base, self.process)
        return base

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        stop(self.process)
        self.log.unlink(missing_ok=True)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def backends_of(server: EmbeddedServer) -> list[int]:
    """The live processes of the server's data directory (postmaster, children, orphans)."""
    found = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        info = process.info
        ours = info["name"] == "postgres" and info["cwd"] == str(server.pgdata)
        if ours and info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process.pid)
    return found


def wait_for(predicate: object, timeout: float, step: float = 0.05) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def push_roster(base: str, world: FaultWorld, key: str | None = None) -> httpx.Response:
    """The 100,000-row roster, sent again while the service answers 503 (the database coming
    back); any other answer is returned."""
    headers = {**world.counterpart, "Content-Type": "text/csv"}
    headers["Idempotency-Key"] = key or f"faults-{uuid.uuid4()}"
    body = world.roster.read_bytes()
    deadline = time.monotonic() + 30
    while True:
        response = httpx.post(
            f"{base}/v1/agreements/{world.agreement_id}/rosters",
            content=body,
            headers=headers,
            timeout=60,
        )
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def batch_of(base: str, world: FaultWorld, batch_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/roster-batches/{batch_id}", headers=world.counterpart)
    assert response.status_code == 200, response.text
    return dict(response.json())


def second_lane_open(world: FaultWorld) -> bool:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'perisai-roster'"
    return world.server.psql(sql).strip() == "1"


def until_mid_batch(base: str, world: FaultWorld, batch_id: str, service: Serving) -> None:
    """Waits until both connections are in the batch's transactions (a chunk copied); when
    that does not come, says what was last seen, and the service's last log lines."""

    seen: dict[str, Any] = {}

    def mid_batch() -> bool:
        seen["batch"] = batch = batch_of(base, world, batch_id)
        assert batch["status"] in ("received", "processing"), batch
        seen["lanes"] = lanes = second_lane_open(world)
        return batch["processed_rows"] >= 20_000 and lanes

    if not wait_for(mid_batch, timeout=60, step=0.1):
        log = service.log.read_text(errors="replace").splitlines()[-15:]
        pytest.fail(f"never mid-batch: {seen}, service log: {log}")
