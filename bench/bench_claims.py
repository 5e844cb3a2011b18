"""Benchmark claims through the real app: filing, reading, moving and listing.

Builds a fresh database with the migrations, COPYs --registrations officers (default 200,000)
into an active agreement of Kab. Asahan (two cohorts, wages 1,000,000 and 2,200,000), then,
on httpx's ASGITransport with requests committing on their own connections (as served):

- files --claims JKK claims one after another by registration id and as many by NIK, and the
  same again with --concurrency requests in flight (median, p95, max, claims per second);
- reads claims (`GET /v1/claims/{id}`), moves them (`submitted -> verified`) and lists pages
  of 50 (`GET /v1/claims?agreement=...`, the first and a deep page) with every claim filed.

    .venv/bin/python bench/bench_claims.py [--registrations N] [--claims N] [--concurrency N]

The database server is $DATABASE_URL's, else the embedded one; the database is dropped after.
Access-log rows are written in each request's transaction (no background writer here), which
is the slower of the two paths the service has.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from app.core.auth import issue_key  # noqa: E402
from app.core.database import async_url, create_engine, create_sessionmaker, plain_url  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.main import create_app  # noqa: E402

ADMIN_KEY = "bench-admin-key-" + "x" * 32
START, END = datetime.date(2024, 11, 1), datetime.date(2024, 12, 31)
WAGES = {"KPPS": 1_000_000, "PPS": 2_200_000}


def server_url() -> str:
    from app.core.embedded import embedded_url

    return os.environ.get("DATABASE_URL") or embedded_url(REPO / ".data")


def with_database(url: str, database: str) -> str:
    head, _, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


async def execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO / "alembic.ini"))
    config.set_main_option("script_location", str(REPO / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    command.upgrade(config, "head")


def nik(serial: int) -> int:
    # District 12.09.18, born 17-05-1990 (men) with serials 1..9999, then further birth days.
    day = 1 + (serial // 9999) % 28
    return int(f"120918{day:02d}0590{serial % 9999 + 1:04d}")


async def seed(url: str, registrations: int) -> tuple[uuid.UUID, str, str, list[tuple[int, int]]]:
    """The agreement, the branch's and the counterpart's tokens, and (registration id, NIK)s."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        branch = await connection.fetchval(
            "INSERT INTO organizations (kind, name, region_code) "
            "VALUES ('bpjs_branch', 'BPJS Cabang Kisaran', '12.09') RETURNING id"
        )
        kpu = await connection.fetchval(
            "INSERT INTO organizations (kind, name, region_code) "
            "VALUES ('kpu', 'KPU Kabupaten Asahan', '12.09') RETURNING id"
        )
        tokens = []
        for organization in (branch, kpu):
            issued = issue_key()
            await connection.execute(
                "INSERT INTO api_keys (organization_id, name, prefix, secret_hash, scopes) "
                "VALUES ($1, 'bench', $2, $3, $4)",
                organization,
                issued.prefix,
                issued.secret_hash,
                ["claims:write", "claims:review", "pii:read"],
            )
            tokens.append(issued.token)
        agreement = await connection.fetchval(
            "INSERT INTO agreements (number, bpjs_branch_id, counterpart_id, payer_id, "
            "election_code, region_code, signed_on, programs, status) VALUES ('PKS/BENCH', $1, "
            "$2, $2, 'pilkada-2024', '12.09', '2024-10-28', ARRAY['JKK','JKM'], 'active') "
            "RETURNING id",
            branch,
            kpu,
        )
        cohorts = {}
        for role, wage in WAGES.items():
            cohorts[role] = await connection.fetchval(
                "INSERT INTO cohorts (agreement_id, role_code, election_code, planned_headcount, "
                "coverage_start, coverage_end, declared_wage) VALUES ($1, $2, 'pilkada-2024', "
                "$3, $4, $5, $6) RETURNING id",
                agreement,
                role,
                registrations,
                START,
                END,
                wage,
            )
        roles = list(WAGES)
        records = [
            (
                nik(serial),
                agreement,
                cohorts[roles[serial % 2]],
                roles[serial % 2],
                "Petugas",
                datetime.date(1990, 5, 17),
                "12.09.18.2002",
                START,
                END,
            )
            for serial in range(registrations)
        ]
        await connection.copy_records_to_table(
            "registrations",
            records=records,
            columns=[
                "nik",
                "agreement_id",
                "cohort_id",
                "role_code",
                "full_name",
                "birth_date",
                "region_code",
                "coverage_start",
                "coverage_end",
            ],
        )
        await connection.execute("VACUUM ANALYZE registrations")
        rows = await connection.fetch("SELECT id, nik FROM registrations ORDER BY id")
        return agreement, tokens[0], tokens[1], [(row["id"], row["nik"]) for row in rows]
    finally:
        await connection.close()


def claim_body(officer: dict[str, Any], day: int) -> dict[str, Any]:
    incident = datetime.date(2024, 11, 1 + day % 28)
    return {
        **officer,
        "program": "JKK",
        "incident_type": "work_accident",
        "incident_date": incident.isoformat(),
        "incident_at": "10:00:00",
        "reported_at": f"{incident.isoformat()}T18:00:00+07:00",
        "place_region_code": "12.09.18.2002",
        "place": "TPS 019",
        "chronology": "Terjatuh saat memindahkan kotak suara.",
        "on_duty": True,
        "outcome": "temporary_incapacity",
        "incapacity_months": 2,
        "claimant": {
            "name": "Ani",
            "nik": "3171015708850002",
            "relation": "spouse",
            "bank_name": "BRI",
            "bank_account": "0123456789",
        },
        "amounts_claimed": {"medical": 2_500_000, "transport": 300_000},
    }


def summary(label: str, seconds: Sequence[float], wall: float | None = None) -> None:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    line = (
        f"{label:<46} n={len(ordered):>5}  median {statistics.median(ordered) * 1000:7.1f} ms"
        f"  p95 {p95 * 1000:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    )
    if wall is not None:
        line += f"  {len(ordered) / wall:7.0f}/s"
    print(line, flush=True)


async def timed(
    calls: Sequence[Callable[[], Awaitable[httpx.Response]]], concurrency: int, expect: int
) -> tuple[list[float], float, list[httpx.Response]]:
    gate = asyncio.Semaphore(concurrency)
    seconds: list[float] = []
    responses: list[httpx.Response] = []

    async def one(call: Callable[[], Awaitable[httpx.Response]]) -> None:
        async with gate:
            started = time.perf_counter()
            response = await call()
            seconds.append(time.perf_counter() - started)
            if response.status_code != expect:
                raise SystemExit(f"unexpected {response.status_code}: {response.text[:300]}")
            responses.append(response)

    started = time.perf_counter()
    await asyncio.gather(*(one(call) for call in calls))
    return seconds, time.perf_counter() - started, responses


async def run(args: argparse.Namespace) -> None:
    server = server_url()
    name = f"perisai_bench_claims_{uuid.uuid4().hex[:8]}"
    await execute(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        started = time.perf_counter()
        await asyncio.to_thread(migrate, url)
        agreement, branch, kpu, officers = await seed(url, args.registrations)
        print(
            f"seeded {len(officers):,} registrations in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        engine = create_engine(url, pool_size=args.concurrency + 2, max_overflow=4)
        app = create_app(Settings(environment="test", database_url=url, admin_api_key=ADMIN_KEY))
        app.state.sessionmaker = create_sessionmaker(engine)
        filer = {"Authorization": f"Bearer {kpu}"}
        reviewer = {"Authorization": f"Bearer {branch}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            n = args.claims
            picks = iter(officers)

            def filing(by: str) -> list[Callable[[], Awaitable[httpx.Response]]]:
                calls: list[Callable[[], Awaitable[httpx.Response]]] = []
                for index in range(n):
                    registration_id, value = next(picks)
                    officer = (
                        {"registration_id": registration_id}
                        if by == "id"
                        else {"nik": f"{value:016d}"}
                    )
                    calls.append(post(claim_body(officer, index)))
                return calls

            def post(body: dict[str, Any]) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: client.post("/v1/claims", json=body, headers=filer)

            # Warm up: the first claim builds the NIK checker's tables and fills the caches.
            warm_id, _ = next(picks)
            warm = claim_body({"registration_id": warm_id}, 0)
            await client.post("/v1/claims", json=warm, headers=filer)
            ids: list[str] = []
            for by in args.order.split(","):
                for concurrency in (1, args.concurrency):
                    seconds, wall, responses = await timed(filing(by), concurrency, 201)
                    summary(f"POST /v1/claims by {by}, {concurrency} in flight", seconds, wall)
                    ids.extend(response.json()["id"] for response in responses)
            reads = [
                lambda claim_id=claim_id: client.get(f"/v1/claims/{claim_id}", headers=reviewer)
                for claim_id in ids[:n]
            ]
            seconds, wall, _ = await timed(reads, 1, 200)
            summary("GET /v1/claims/{id}", seconds, wall)
            moves = [
                lambda claim_id=claim_id: client.post(
                    f"/v1/claims/{claim_id}/transitions",
                    json={"to": "verified"},
                    headers={**reviewer, "If-Match": '"1"'},
                )
                for claim_id in ids[:n]
            ]
            seconds, wall, _ = await timed(moves, args.concurrency, 200)
            summary(f"POST .../transitions, {args.concurrency} in flight", seconds, wall)
            query = {"agreement": str(agreement), "limit": "50"}
            first: list[float] = []
            deep: list[float] = []
            for _ in range(20):
                started = time.perf_counter()
                page = await client.get("/v1/claims", params=query, headers=reviewer)
                first.append(time.perf_counter() - started)
                cursor = page.json()["next_cursor"]
                for _ in range(len(ids) // 50 - 2):
                    page = await client.get(
                        "/v1/claims", params={**query, "cursor": cursor}, headers=reviewer
                    )
                    cursor = page.json()["next_cursor"] or cursor
                started = time.perf_counter()
                await client.get("/v1/claims", params={**query, "cursor": cursor}, headers=reviewer)
                deep.append(time.perf_counter() - started)
                if len(first) >= 3:
                    break
            summary(f"GET /v1/claims page of 50 (first), {len(ids)} claims", first)
            summary("GET /v1/claims page of 50 (last)", deep)
        await engine.dispose()
    finally:
        await execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--registrations", type=int, default=200_000)
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--order", default="id,nik", help="which filing paths, in order")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
