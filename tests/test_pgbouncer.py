"""The service behind PgBouncer in transaction mode (DB_STATEMENT_CACHE_SIZE=0): it migrates at
start-up through it, and rosters, concurrent coverage reads and background batches work while
PgBouncer gives many client connections two server connections to share."""

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from app.core.database import create_engine, create_sessionmaker, plain_url
from bench.bench_rosters import free_port
from tests.conftest import _execute_on_server, server_url, with_database
from tests.live_server import ServerProcess, start_server_process, wait_until_ready
from tests.rosters.helpers import finished, json_body, officer, officer_nik, parties

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)
pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed (apt pgbouncer)"),
]
SERVER_CONNECTIONS = 2


@dataclass
class Bounced:
    direct_url: str  # the database itself, for setup and checks
    server: ServerProcess


async def _server_address(url: str) -> tuple[str, int]:
    """Where PgBouncer reaches the test server: its socket directory or host, and its port."""
    parts = urlsplit(plain_url(url))
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    connection = await asyncpg.connect(plain_url(url))
    try:
        port = int(await connection.fetchval("SELECT current_setting('port')"))
    finally:
        await connection.close()
    return host, port


def _start_pgbouncer(directory: Path, host: str, port: int) -> tuple[subprocess.Popen[bytes], int]:
    listen = free_port()
    (directory / "users.txt").write_text('"postgres" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = {directory / "pgbouncer.log"}
"""
    )
    assert PGBOUNCER is not None
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it runs as whoever may reach the server's socket.
        owner = Path(host).stat().st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
        os.chown(directory, owner, -1)
        command += ["-u", pwd.getpwuid(owner).pw_name]
    return subprocess.Popen(command), listen  # noqa: S603 (our own binary and config)


@pytest.fixture(scope="module")
def bounced() -> Iterator[Bounced]:
    server = server_url()
    name = f"perisai_pgbouncer_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute_on_server(server, f'CREATE DATABASE "{name}"'))
    directory = Path(tempfile.mkdtemp(prefix="perisai-pgbouncer-"))
    host, port = asyncio.run(_server_address(server))
    pgbouncer, listen = _start_pgbouncer(directory, host, port)
    app = start_server_process(
        f"postgresql://postgres@127.0.0.1:{listen}/{name}",
        directory / "server.log",
        {"DB_STATEMENT_CACHE_SIZE": "0", "SYNC_ROSTER_MAX_ROWS": "20", "DB_POOL_SIZE": "8"},
    )
    try:
        wait_until_ready(app)
        yield Bounced(with_database(server, name), app)
    finally:
        app.stop()
        pgbouncer.terminate()
        pgbouncer.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
        asyncio.run(_execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_the_service_works_behind_pgbouncer_in_transaction_mode(bounced: Bounced) -> None:
    engine = create_engine(bounced.direct_url, pool_size=1, max_overflow=0)
    async with httpx.AsyncClient(base_url=bounced.server.base, timeout=60) as client:
        try:
            async with create_sessionmaker(engine)() as session:
                p = await parties(client, session)
        finally:
            await engine.dispose()
        small = await client.post(
            p.rosters_url,
            content=json_body([officer(n) for n in range(1, 11)]),
            headers={**p.counterpart, "Content-Type": "application/json"},
        )
        assert small.status_code == 201, small.text
        large = await client.post(
            p.rosters_url,
            content=json_body([officer(n) for n in range(11, 61)]),
            headers={**p.counterpart, "Content-Type": "application/json"},
        )
        assert large.status_code == 202, large.text

        # Many statements of many client connections on two server connections at once.
        on = {"on": "2024-11-20"}
        singles = [
            client.get(f"/v1/coverage/{officer_nik(n)}", params=on, headers=p.branch)
            for n in range(1, 41)
        ]
        batch = client.post(
            "/v1/coverage/checks",
            json={**on, "niks": [str(officer_nik(n)) for n in range(1, 11)]},
            headers=p.branch,
        )
        answers = await asyncio.gather(*singles, batch)
        assert [a.status_code for a in answers] == [200] * len(answers), [
            a.text for a in answers if a.status_code != 200
        ]
        assert all(a.json()["covered"] for a in answers[:10])
        assert all(r["covered"] for r in answers[-1].json()["results"])

        done = await finished(client, large.headers["Location"], p.counterpart)
        assert done["status"] == "completed", done
        listed = await client.get(
            "/v1/registrations",
            params={"agreement_id": str(p.agreement.id), "limit": 100},
            headers=p.counterpart,
        )
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) == 60
