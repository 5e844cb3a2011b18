"""Benchmark webhook delivery: events per second from the outbox to a loopback receiver, with
one and with two dispatchers.

    .venv/bin/python bench/bench_webhooks.py [--events 1000] [--endpoints 8]

On a fresh database of the embedded PostgreSQL (or of $DATABASE_URL's server): the API (`python
-m app serve`, its own dispatcher off) makes the organizations, the agreement and `--endpoints`
webhook endpoints of the KPU office, all pointing at a receiver (uvicorn, answering 204) on
127.0.0.1. For each run, `--events` events are written in one transaction through the outbox's
fan-out (one delivery per endpoint each), and the dispatchers (`python -m app dispatch`, each a
process, started and listening beforehand) are timed from the commit until every delivery is
delivered. Defaults: 16 deliveries at a time per dispatcher, 4 per endpoint across all of them,
so 8 endpoints leave a second dispatcher 16 more to send (with 4, one dispatcher fills them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.database import plain_url  # noqa: E402
from app.events import repository as events_repository  # noqa: E402
from bench.bench_rosters import (  # noqa: E402
    execute,
    free_port,
    server_url,
    setup_through_api,
    start_server,
    stop,
    wait_ready,
    with_database,
)


async def receiver(scope: dict[str, object], receive: object, send: object) -> None:
    """The loopback receiver: reads the body, answers 204."""
    assert scope["type"] == "http"
    while True:
        message = await receive()  # type: ignore[operator]
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_webhooks:receiver",
            "--app-dir",
            str(REPO / "bench"),
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
    )


def start_dispatcher(database_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "app", "dispatch"], cwd=REPO, env=env)


async def listening(url: str, count: int) -> None:
    """Until `count` dispatchers LISTEN on the database."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        for _ in range(300):
            found = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%'"
            )
            if found >= count:
                return
            await asyncio.sleep(0.1)
        raise SystemExit("the dispatchers did not start")
    finally:
        await connection.close()


async def run(url: str, agreement_id: str, events: int) -> tuple[int, float]:
    """Writes `events` events in one transaction; seconds until all their deliveries are done."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute("TRUNCATE webhook_attempts, webhook_deliveries")
        started = time.perf_counter()
        await events_repository.insert_selected(
            connection,
            "SELECT $1::uuid, 'claim.created', jsonb_build_object('agreement_id', $1::uuid, "
            "'claim_id', gen_random_uuid(), 'status', 'submitted') FROM generate_series(1, $2)",
            uuid.UUID(agreement_id),
            events,
        )
        total = await connection.fetchval("SELECT count(*) FROM webhook_deliveries")
        while True:
            pending = await connection.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            )
            if pending == 0:
                return total, time.perf_counter() - started
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=8)
    args = parser.parse_args()

    server = server_url()
    name = f"perisai_bench_webhooks_{uuid.uuid4().hex[:8]}"
    asyncio.run(execute(server, f'CREATE DATABASE "{name}"'))
    url = with_database(server, name)
    admin_key = secrets.token_urlsafe(32)
    os.environ["WEBHOOK_DISPATCHER"] = "false"  # the API's own: these runs time the CLI's
    os.environ["WEBHOOK_URL_POLICY"] = "any"
    port, receiver_port = free_port(), free_port()
    api = start_server(url, admin_key, port)
    receiving = start_receiver(receiver_port)
    dispatchers: list[subprocess.Popen[bytes]] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, api)
        admin = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=base, headers=admin, timeout=60) as client:
            agreement_id, _ = setup_through_api(client, 10)
            office = client.get(f"/v1/agreements/{agreement_id}").json()["counterpart_id"]
            key = client.post(
                f"/v1/organizations/{office}/api-keys",
                json={"name": "bench", "scopes": ["webhooks:write"]},
            ).json()["key"]
            for n in range(args.endpoints):
                created = client.post(
                    "/v1/webhook-endpoints",
                    json={
                        "url": f"http://127.0.0.1:{receiver_port}/hook/{n}",
                        "event_types": ["claim.created"],
                    },
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert created.status_code == 201, created.text
        print(
            f"{args.events:,} events x {args.endpoints} endpoints, receiver on loopback "
            "(uvicorn, 204)"
        )
        rates: dict[int, float] = {}
        for count in (1, 2):
            while len(dispatchers) < count:
                dispatchers.append(start_dispatcher(url))
            asyncio.run(listening(url, count))
            deliveries, seconds = asyncio.run(run(url, agreement_id, args.events))
            rates[count] = args.events / seconds
            print(
                f"{count} dispatcher{'s' if count > 1 else ' '}: {deliveries:,} deliveries in "
                f"{seconds:.1f} s = {deliveries / seconds:,.0f} deliveries/s, "
                f"{rates[count]:,.0f} events/s"
            )
        print(f"ratio  2 / 1 dispatchers = {rates[2] / rates[1]:.2f}")
    finally:
        for process in (*dispatchers, receiving, api):
            stop(process)
        asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
