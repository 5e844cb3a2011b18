"""Two real `python -m app serve` processes on one database behave as one service: they start
together on a fresh database and migrate it once, an Idempotency-Key sent to both at once
applies once, a roster batch whose process is killed is swept by the other, and a key's rate
limit holds across them."""

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory

from app.core import workers
from app.core.database import plain_url
from app.coverage import batches
from tests.conftest import (
    _execute_on_server,
    alembic_config,
    server_url,
    with_database,
)
from tests.factories import ADMIN, organization_with_key
from tests.live_server import (
    ServerProcess,
    start_server_process,
    wait_until_ready,
    worker_processes,
)
from tests.rosters.helpers import Parties, finished, json_body, officer, officer_nik, parties

pytestmark = pytest.mark.concurrency


@dataclass
class Pair:
    url: str
    first: ServerProcess
    second: ServerProcess


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Two servers started at the same moment on a database nobody has migrated."""
    server = server_url()
    name = f"perisai_processes_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute_on_server(server, f'CREATE DATABASE "{name}"'))
    url = with_database(server, name)
    logs = tmp_path_factory.mktemp("processes")
    env = {
        "SYNC_ROSTER_MAX_ROWS": "1",  # every roster goes to the background job
        "ROSTER_SWEEP_SECONDS": "0.5",
    }
    first = start_server_process(url, logs / "first.log", env)
    second = start_server_process(url, logs / "second.log", env)
    try:
        wait_until_ready(first)
        wait_until_ready(second)
        yield Pair(url, first, second)
    finally:
        first.stop()
        second.stop()
        asyncio.run(_execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(pair: Pair) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain_url(pair.url))
    try:
        yield connection
    finally:
        await connection.close()


async def test_servers_started_together_migrate_once(pair: Pair, db: asyncpg.Connection) -> None:
    logs = [pair.first.output(), pair.second.output()]
    assert sorted(log.count("migrations applied") for log in logs) == [0, 1], logs
    assert sum(log.count("migrations already at head") for log in logs) == 1, logs
    head = ScriptDirectory.from_config(alembic_config(pair.url)).get_current_head()
    assert await db.fetch("SELECT version_num FROM alembic_version") == [(head,)]


async def test_one_idempotency_key_sent_to_both_at_once_applies_once(
    pair: Pair, db: asyncpg.Connection
) -> None:
    name = f"KPU race {uuid.uuid4().hex[:8]}"
    body = {"kind": "kpu", "name": name, "region_code": "12.09"}
    headers = {**ADMIN, "Idempotency-Key": f"race-{uuid.uuid4()}"}
    async with (
        httpx.AsyncClient(base_url=pair.first.base, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.second.base, timeout=30) as b,
    ):
        for _ in range(2):  # at once, then again once both are done: replays
            answers = await asyncio.gather(
                a.post("/v1/organizations", json=body, headers=headers),
                b.post("/v1/organizations", json=body, headers=headers),
            )
            assert {r.status_code for r in answers} <= {201, 409}, [r.text for r in answers]
            created = [r for r in answers if r.status_code == 201]
            assert created
            assert len({r.json()["id"] for r in created}) == 1
        assert all(r.headers.get("Idempotent-Replayed") == "true" for r in answers)
    assert await db.fetchval("SELECT count(*) FROM organizations WHERE name = $1", name) == 1


async def test_a_killed_processes_batch_is_swept_by_the_other(
    pair: Pair, db: asyncpg.Connection
) -> None:
    doomed, survivor = pair.first, pair.second
    async with (
        httpx.AsyncClient(base_url=doomed.base, timeout=30) as a,
        httpx.AsyncClient(base_url=survivor.base, timeout=30) as b,
    ):
        p = await _parties(pair.url, b)
        key = {**p.counterpart, "Idempotency-Key": f"killed-{uuid.uuid4()}"}
        roster = json_body([officer(n) for n in range(1, 4)])
        blocker = await asyncpg.connect(plain_url(pair.url))
        try:
            # The job waits for the agreement (it share-locks it) while we hold it; the
            # request does not (its batch row only key-share-locks it).
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute(
                "SELECT 1 FROM agreements WHERE id = $1 FOR NO KEY UPDATE", p.agreement.id
            )
            pushed = await a.post(
                p.rosters_url, content=roster, headers={**key, "Content-Type": "application/json"}
            )
            assert pushed.status_code == 202, pushed.text
            location = pushed.headers["Location"]
            await _until(b, location, p.counterpart, "processing")
            doomed.process.send_signal(signal.SIGKILL)
            doomed.process.wait(timeout=10)
            await transaction.rollback()
        finally:
            await blocker.close()
        batch_id = uuid.UUID(location.rsplit("/", 1)[1])
        # Older than any grace a sweep gives batches between their commit and their job.
        await db.execute(
            "UPDATE roster_batches SET created_at = created_at - interval '10 minutes' "
            "WHERE id = $1",
            batch_id,
        )
        swept = await _until(b, location, p.counterpart, "failed")
        assert swept["error"]["code"] == "interrupted"
        count = "SELECT count(*) FROM registrations WHERE agreement_id = $1"
        assert await db.fetchval(count, p.agreement.id) == 0

        retried = await b.post(
            p.rosters_url, content=roster, headers={**key, "Content-Type": "application/json"}
        )
        assert retried.status_code == 202, retried.text
        assert retried.headers["Location"] != location
        done = await finished(b, retried.headers["Location"], p.counterpart)
        assert done["status"] == "completed", done
        assert await db.fetchval(count, p.agreement.id) == 3


async def _parties(url: str, client: httpx.AsyncClient) -> Parties:
    from app.core.database import create_engine, create_sessionmaker

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            return await parties(client, session)
    finally:
        await engine.dispose()


async def _until(
    client: httpx.AsyncClient, location: str, headers: dict[str, str], status: str
) -> dict[str, Any]:
    """The batch once it has `status` (polled for at most 20 s)."""
    for _ in range(400):
        batch = dict((await client.get(location, headers=headers)).json())
        if batch["status"] == status:
            return batch
        await asyncio.sleep(0.05)
    raise AssertionError(f"the batch never became {status}: {batch}")


async def test_metrics_show_the_process_its_pools_and_its_roster_jobs(pair: Pair) -> None:
    """After the tests above: the survivor ran the retried batch in the background."""
    async with httpx.AsyncClient(base_url=pair.second.base, timeout=30) as client:
        text = (await client.get("/metrics")).text
    lines = text.splitlines()
    assert any(line.startswith("process_resident_memory_bytes ") for line in lines)
    assert 'perisai_db_pool_max_connections{pool="sqlalchemy"} 20.0' in lines
    assert 'perisai_db_pool_max_connections{pool="coverage"} 10.0' in lines
    assert 'perisai_roster_jobs_total{outcome="completed"} 1.0' in lines
    assert "perisai_roster_jobs_running 0.0" in lines
    rate = next(line for line in lines if line.startswith("perisai_roster_job_rows_per_second "))
    assert float(rate.split()[1]) > 0
    assert any(
        line.startswith("perisai_http_request_duration_seconds_count{")
        and 'route="/v1/roster-batches/{batch_id}"' in line
        and 'status="200"' in line
        for line in lines
    ), [line for line in lines if "duration_seconds_count" in line]


async def _check(client: httpx.AsyncClient, niks: list[str]) -> list[dict[str, Any]]:
    response = await client.post(
        "/v1/coverage/checks", json={"on": "2024-11-20", "niks": niks}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def test_batch_checks_are_answered_by_a_worker_and_by_the_server_when_it_dies(
    pair: Pair, db: asyncpg.Connection
) -> None:
    """After the tests above: officers 1 to 3 are covered, through the survivor."""
    server = pair.second
    niks = [str(officer_nik(n)) for n in (1, 2, 3, 4)] + ["12345"]
    assert worker_processes(server.process.pid, batches.NAME) == []  # none before a batch
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        results = await _check(client, niks)
        (worker,) = worker_processes(server.process.pid, batches.NAME)
        assert worker.nice() == workers.NICE  # the server's own loop runs first
        assert [result.get("covered") for result in results] == [True, True, True, False, None]
        assert results[4]["error"]["code"] == "invalid_nik"
        refused = await client.post(
            "/v1/coverage/checks", json={"niks": niks, "items": []}, headers=ADMIN
        )
        assert refused.status_code == 422 and refused.json()["code"] == "niks_or_items"

        many = {"on": "2024-11-20", "niks": [niks[0]] * 300}
        for accepted, encoding in (("gzip", "gzip"), ("identity", None)):
            headers = {**ADMIN, "Accept-Encoding": accepted}
            answered = await client.post("/v1/coverage/checks", json=many, headers=headers)
            assert answered.headers.get("content-encoding") == encoding  # gzipped by the worker
            assert [r["covered"] for r in answered.json()["results"]] == [True] * 300

        worker.kill()
        assert await _check(client, niks) == results  # answered in the server's own loop
        assert await _check(client, niks) == results  # by a new worker
        (replaced,) = worker_processes(server.process.pid, batches.NAME)
        assert replaced.pid != worker.pid

    logged = (
        "SELECT count(*) FROM access_log WHERE nik = $1 AND endpoint = 'POST /v1/coverage/checks'"
    )
    for _ in range(100):  # the writers flush within a second or so
        if await db.fetchval(logged, officer_nik(1)) == 5:
            break
        await asyncio.sleep(0.1)
    assert await db.fetchval(logged, officer_nik(1)) == 5


async def test_a_keys_limit_holds_across_two_servers(
    pair: Pair, db: asyncpg.Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two more servers with a limit of 20 requests a day: 15 on one, then the other, each
    allowed what the shared count leaves once it has shared."""
    until_midnight = 86_400 - time.time() % 86_400  # a day's window ends at midnight UTC
    if until_midnight < 60:
        await asyncio.sleep(until_midnight + 1)
    logs = tmp_path_factory.mktemp("limited")
    limited = {"RATE_LIMIT_PER_KEY": "20/day"}
    servers = [start_server_process(pair.url, logs / f"{n}.log", limited) for n in (1, 2)]

    async def shared_count_reaches(hits: int) -> None:
        """Until the key's shared count is `hits` (each server shares once a second)."""
        for _ in range(200):
            count = await db.fetchval(
                "SELECT max(hits) FROM rate_limit_windows"
                " WHERE limit_name = 'key/86400' AND name <> 'admin'"
            )
            if count is not None and count >= hits:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the shared count stayed at {count}")

    try:
        for server in servers:
            wait_until_ready(server)
        async with httpx.AsyncClient(base_url=servers[0].base, timeout=30) as admin:
            _, key = await organization_with_key(admin, "integrator", scopes=["coverage:read"])
        await db.execute("DELETE FROM rate_limit_windows WHERE limit_name = 'key/86400'")
        url = f"/v1/coverage/{officer_nik(900)}"
        async with (
            httpx.AsyncClient(base_url=servers[0].base, headers=key, timeout=30) as a,
            httpx.AsyncClient(base_url=servers[1].base, headers=key, timeout=30) as b,
        ):
            assert [(await a.get(url)).status_code for _ in range(15)] == [200] * 15
            await shared_count_reaches(15)
            assert (await b.get(url)).status_code == 200  # b knew only its own 1
            await shared_count_reaches(16)  # b shared it and learnt of the 15
            statuses = [(await b.get(url)).status_code for _ in range(6)]
            assert statuses == [200] * 4 + [429] * 2
            await shared_count_reaches(22)
            assert (await a.get(url)).status_code == 200  # a has not shared since its 15
            await shared_count_reaches(23)
            refused = await a.get(url)
            assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    finally:
        for server in servers:
            server.stop()
