"""Benchmark the console's pages on the full demo data, through the real app, against the API
calls each page makes.

Builds a fresh database with the migrations and the full demo (about 70,800 officers), signs in
to the console with the demo BPJS branch key (Kisaran), then times each page over httpx's
ASGITransport: the agreements list, the KPU Asahan agreement (13,889 planned, its summary,
balance and charts), the held registrations, the claims queue and a coverage check; beside each,
the API calls that carry the same data with the same key, so the ratio is what rendering costs.
Median and max of --runs runs, and the page's bytes.

    .venv/bin/python bench/bench_console.py [--runs 20] [--keep]

The database server is $DATABASE_URL's, else the embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.bench_summary import ADMIN_KEY, execute, migrate, server_url, with_database  # noqa: E402

Call = Callable[[], Awaitable[httpx.Response]]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NIK = "1209180101900001"


async def timed(
    runs: int, call: Callable[[], Awaitable[httpx.Response]]
) -> tuple[float, float, int]:
    """Median and max milliseconds of `runs` calls, and the last answer's bytes."""
    seconds, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = await call()
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:300]
        size = len(response.content)
    return 1000 * statistics.median(seconds), 1000 * max(seconds), size


async def run(url: str, runs: int) -> None:
    from app.core.database import create_engine, create_sessionmaker
    from app.core.settings import Settings
    from app.demo import seed_demo
    from app.demo_data import DEMO_AGREEMENTS
    from app.main import create_app

    engine = create_engine(url, pool_size=2)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as data_dir:
        async with create_sessionmaker(engine)() as session:
            lines = await seed_demo(session, data_dir=Path(data_dir))
            await session.commit()
    await engine.dispose()
    print(f"demo seeded in {time.perf_counter() - started:.1f} s")
    key = next(line for line in lines if "(bpjs_branch," in line).split(": ", 1)[1]
    api = {"Authorization": f"Bearer {key}"}

    app = create_app(Settings(environment="test", database_url=url, admin_api_key=ADMIN_KEY))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = await client.get("/console/masuk")
            token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
            await client.post("/console/masuk", data={"csrf_token": token, "api_key": key})
            listed = (await client.get("/v1/agreements", headers=api)).json()["items"]
            agreement = next(a["id"] for a in listed if a["number"] == DEMO_AGREEMENTS[0].number)
            page = await client.get(f"/console/perjanjian/{agreement}")
            csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

            async def agreement_api() -> httpx.Response:
                for path in ("", "/summary", "/balance"):
                    answer = await client.get(f"/v1/agreements/{agreement}{path}", headers=api)
                return answer

            def console_get(path: str) -> Call:
                return lambda: client.get(path)

            def api_get(path: str) -> Call:
                return lambda: client.get(path, headers=api)

            def check() -> Awaitable[httpx.Response]:
                return client.post("/console/cek", data={"csrf_token": csrf, "nik": NIK})

            cases: list[tuple[str, Call, Call]] = [
                ("agreements list", console_get("/console/perjanjian"), api_get("/v1/agreements")),
                ("one agreement", console_get(f"/console/perjanjian/{agreement}"), agreement_api),
                (
                    "held registrations",
                    console_get("/console/ditahan"),
                    api_get("/v1/registrations?status=held"),
                ),
                (
                    "claims queue",
                    console_get("/console/klaim"),
                    api_get("/v1/claims?status=submitted&limit=20"),
                ),
                ("coverage check", check, api_get(f"/v1/coverage/{NIK}")),
            ]
            print(f"{'page':20} {'console ms (median/max)':>24} {'bytes':>7} {'API ms':>7} ratio")
            for name, console, same_data in cases:
                median, worst, size = await timed(runs, console)
                api_median, _, _ = await timed(runs, same_data)
                print(
                    f"{name:20} {median:12.1f} / {worst:8.1f} {size:8,} {api_median:8.1f} "
                    f"{median / api_median:6.2f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    server = server_url()
    name = f"perisai_bench_console_{uuid.uuid4().hex[:8]}"
    asyncio.run(execute(server, f'CREATE DATABASE "{name}"'))
    url = with_database(server, name)
    try:
        migrate(url)
        asyncio.run(run(url, args.runs))
    finally:
        if not args.keep:
            asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
