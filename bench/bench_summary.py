"""Benchmark the agreement summary at 15,000 and 1,000,000 registrations, through the real app.

Builds a fresh database with the migrations, COPYs registrations into agreements of Kab. Asahan
(12.09) spread over the villages of its districts: the issue's hand example (12,465 KPPS for
November and December, checked to owe Rp418,824,000), then 15,000 and 1,000,000 (a mix of
active, terminated, replaced, held and rejected); VACUUM ANALYZEs them as autovacuum would after
a bulk load (--no-vacuum: ANALYZE only), then times
`GET /v1/agreements/{id}/summary` (and the contributions and enrolment reports) through the
app on httpx's ASGITransport with a BPJS branch's key: median and max of several runs each.

    .venv/bin/python bench/bench_summary.py [--small N] [--big N] [--runs N] [--keep] [--no-vacuum]

The database server is $DATABASE_URL's, else the embedded one. Targets: 200 ms at 15,000,
2 s at 1,000,000.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from app.core.database import async_url, plain_url  # noqa: E402

ADMIN_KEY = "bench-admin-key-" + "x" * 32
HAND_EXAMPLE = 12_465  # KPPS of Kab. Asahan, 1 Nov - 31 Dec 2024: Rp418,824,000 at default rates
NOV, DEC_END = datetime.date(2024, 11, 1), datetime.date(2024, 12, 31)
CHUNK = 100_000
COLUMNS = (
    "nik", "agreement_id", "cohort_id", "role_code", "position", "full_name", "birth_date",
    "sex", "region_code", "tps", "coverage_start", "coverage_end", "ended_on", "status",
    "conflict",
)  # fmt: skip
CONFLICT = (
    '{"body": "bawaslu", "role": "PTPS", "coverage_start": "2024-11-01", '
    '"coverage_end": "2024-12-31"}'
)


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


async def seed_parties(connection: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    branch = await connection.fetchval(
        "INSERT INTO organizations (kind, name, region_code) "
        "VALUES ('bpjs_branch', 'BPJS Cabang Kisaran', '12.09') RETURNING id"
    )
    kpu = await connection.fetchval(
        "INSERT INTO organizations (kind, name, region_code) "
        "VALUES ('kpu', 'KPU Kabupaten Asahan', '12.09') RETURNING id"
    )
    return branch, kpu


async def seed_agreement(
    connection: asyncpg.Connection, branch: uuid.UUID, kpu: uuid.UUID, number: str, planned: int
) -> tuple[uuid.UUID, uuid.UUID]:
    agreement = await connection.fetchval(
        "INSERT INTO agreements (number, bpjs_branch_id, counterpart_id, payer_id, election_code,"
        " region_code, signed_on, programs, status) VALUES ($1, $2, $3, $3, 'pilkada-2024',"
        " '12.09', '2024-11-11', ARRAY['JKK','JKM'], 'active') RETURNING id",
        number,
        branch,
        kpu,
    )
    await connection.execute(
        "INSERT INTO agreement_rates (agreement_id, program, basis_points, flat_amount) "
        "VALUES ($1, 'JKK', 100, NULL), ($1, 'JKM', NULL, 6800)",
        agreement,
    )
    cohort = await connection.fetchval(
        "INSERT INTO cohorts (agreement_id, role_code, election_code, planned_headcount,"
        " coverage_start, coverage_end) VALUES ($1, 'KPPS', 'pilkada-2024', $2, $3, $4)"
        " RETURNING id",
        agreement,
        planned,
        NOV,
        DEC_END,
    )
    return agreement, cohort


def registrations(
    agreement: uuid.UUID,
    cohort: uuid.UUID,
    villages: list[str],
    count: int,
    first: int,
    *,
    mixed: bool = True,
) -> Any:
    """`count` registrations with NIKs numbered from `first` (unique across agreements); with
    `mixed`, 10% ended early, held or rejected and 5% starting on 11 November."""
    rng = random.Random(first)
    districts = sorted({v[:8] for v in villages})
    for i in range(first, first + count):
        district = districts[i % len(districts)].replace(".", "")
        born = datetime.date(1960, 1, 1) + datetime.timedelta(days=(i // len(districts)) % 15_000)
        serial = i // (len(districts) * 15_000) + 1
        nik = int(f"{district}{born.day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}")
        roll = rng.random() if mixed else 1.0
        start, end, ended_on, status, conflict = NOV, DEC_END, None, "active", None
        if roll < 0.04:
            status, ended_on = "terminated", NOV + datetime.timedelta(days=rng.randrange(50))
        elif roll < 0.06:
            status, ended_on = "replaced", datetime.date(2024, 11, 10)
        elif roll < 0.08:
            status, conflict = "held", CONFLICT
        elif roll < 0.10:
            status = "rejected"
        elif roll < 0.15:
            start = datetime.date(2024, 11, 11)
        village = villages[rng.randrange(len(villages))]
        yield (
            nik, agreement, cohort, "KPPS", "anggota", "Petugas KPPS", born, "L", village,
            f"{rng.randrange(1, 400):03d}", start, end, ended_on, status, conflict,
        )  # fmt: skip


async def load(url: str, small: int, big: int, *, vacuum: bool) -> dict[str, Any]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        villages = [
            row["code"]
            for row in await connection.fetch(
                "SELECT code FROM regions WHERE level = 'village' AND code LIKE '12.09.%'"
            )
        ]
        branch, kpu = await seed_parties(connection)
        agreements: dict[str, Any] = {"branch": branch}
        first = 0
        for label, count in (("hand", HAND_EXAMPLE), ("small", small), ("big", big)):
            agreement, cohort = await seed_agreement(
                connection, branch, kpu, f"PKS/BENCH/{label.upper()}", count
            )
            started = time.perf_counter()
            rows = registrations(agreement, cohort, villages, count, first, mixed=label != "hand")
            loaded = 0
            while loaded < count:
                chunk = [next(rows) for _ in range(min(CHUNK, count - loaded))]
                await connection.copy_records_to_table(
                    "registrations", records=chunk, columns=COLUMNS
                )
                loaded += len(chunk)
            first += count
            print(
                f"loaded {count:>9,} registrations into {label} agreement "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            agreements[label] = agreement
        started = time.perf_counter()
        command = "VACUUM ANALYZE registrations" if vacuum else "ANALYZE registrations"
        await connection.execute(command)
        print(f"{command} in {time.perf_counter() - started:.1f} s")
        return agreements
    finally:
        await connection.close()


async def timed(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], runs: int
) -> tuple[float, float, httpx.Response]:
    response = await client.get(path, headers=headers)  # warm-up: plans, pool, caches
    assert response.status_code == 200, response.text
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(times), max(times), response


async def measure(url: str, agreements: dict[str, Any], sizes: dict[str, int], runs: int) -> None:
    from app.core.settings import Settings
    from app.main import create_app

    app = create_app(Settings(environment="test", database_url=url, admin_api_key=ADMIN_KEY))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
            issued = await client.post(
                f"/v1/organizations/{agreements['branch']}/api-keys",
                json={"name": "bench", "scopes": ["reports:read", "agreements:write"]},
                headers=admin,
            )
            branch = {"Authorization": f"Bearer {issued.json()['key']}"}
            hand = await client.get(
                f"/v1/agreements/{agreements['hand']}/contributions", headers=branch
            )
            total = hand.json()["totals"]["total"]
            assert total == HAND_EXAMPLE * 2 * 16_800 == 418_824_000, total
            print(f"hand example: {HAND_EXAMPLE:,} KPPS x 2 months x Rp16,800 = Rp{total:,}")
            for label in ("small", "big"):
                base = f"/v1/agreements/{agreements[label]}"
                paid = await client.post(
                    f"{base}/payments",
                    json={
                        "amount": 1_000_000,
                        "paid_on": "2025-01-10",
                        "reference": "SP2D/BENCH",
                        "months": ["2024-11"],
                    },
                    headers=branch,
                )
                assert paid.status_code == 201, paid.text
                print(f"\n{label}: {sizes[label]:,} registrations ({runs} runs after a warm-up)")
                for name, path in (
                    ("summary", f"{base}/summary"),
                    ("contributions", f"{base}/contributions"),
                ):
                    median, worst, response = await timed(client, path, branch, runs)
                    print(f"  GET {name:<14} median {median:8.1f} ms   max {worst:8.1f} ms")
                body = response.json()
                print(
                    f"  officer-months {body['totals']['officer_months']:,}, "
                    f"due Rp{body['totals']['total']:,}"
                )
            median, worst, _ = await timed(client, "/v1/reports/enrolment?region=12", branch, runs)
            print(
                f"\nGET /v1/reports/enrolment?region=12 "
                f"({sum(sizes.values()) + HAND_EXAMPLE:,} registrations)"
                f"  median {median:8.1f} ms   max {worst:8.1f} ms"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=15_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="only ANALYZE after loading (no visibility map yet: index-only scans visit the heap)",
    )
    args = parser.parse_args()

    server = await asyncio.to_thread(server_url)
    name = f"perisai_bench_summary_{uuid.uuid4().hex[:8]}"
    await execute(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        await asyncio.to_thread(migrate, url)
        agreements = await load(url, args.small, args.big, vacuum=not args.no_vacuum)
        await measure(url, agreements, {"small": args.small, "big": args.big}, args.runs)
    finally:
        if args.keep:
            print(f"\nkept database {name}")
        else:
            await execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
