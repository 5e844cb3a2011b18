"""Benchmark coverage lookups: the real endpoint against a bare FastAPI + asyncpg ceiling.

Loads 1,000,000 registrations (COPY, straight into a fresh database built by the migrations),
starts `python -m app serve` with one worker and a bare FastAPI + asyncpg app (defined below,
one uvicorn worker) doing the same lookup on the same database, then drives both with 16
keep-alive connections from a load generator in its own process: requests per second, p50,
p99 and their ratio. Then a 10,000-NIK batch, and the single lookup again at 7,000,000.

    .venv/bin/python bench/bench_coverage.py [--rows N] [--big-rows N] [--duration S] [--keep]

The database server is $DATABASE_URL's, else the embedded one. Everything (PostgreSQL, the
server under test and the load generator) shares this machine's cores, so the figures are
those of a crowded box, the same crowding for both servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import orjson  # noqa: E402

from app.core.database import plain_url  # noqa: E402
from app.coverage.repository import COVERAGE_OF_NIK  # noqa: E402

ADMIN_KEY = "bench-admin-key-" + "x" * 32
CONNECTIONS = 16
AGREEMENTS = 40
CHUNK = 250_000
ON = "2024-11-20"
KPPS = (datetime.date(2024, 11, 1), datetime.date(2024, 12, 31))
PPK = (datetime.date(2023, 11, 1), datetime.date(2024, 2, 29))
MISS_SHARE = 0.1  # lookups of NIKs nobody registered
BATCH = 10_000
BATCH_ROUNDS = 7


# ---------------------------------------------------------------- the bare ceiling


def bare_app() -> Any:
    """FastAPI + an asyncpg pool, the same SQL, rows straight to orjson: nothing else."""
    from fastapi import FastAPI
    from fastapi.responses import Response

    state: dict[str, Any] = {}

    async def no_reset(connection: Any) -> None:
        # asyncpg's default reset runs one more query per release; a ceiling skips it.
        return None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            os.environ["BARE_DSN"], min_size=4, max_size=20, reset=no_reset
        )
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/bare/{nik}")
    async def bare(nik: str, on: datetime.date | None = None) -> Response:
        async with state["pool"].acquire() as connection:
            rows = await connection.fetch(COVERAGE_OF_NIK, int(nik), None)
        body = {"nik": nik, "on": on, "registrations": [dict(row) for row in rows]}
        return Response(orjson.dumps(body), media_type="application/json")

    return app


# ---------------------------------------------------------------- the load generator


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def drive(
    port: int, pid: int, requests: list[bytes], warmup: float, duration: float
) -> dict[str, Any]:
    """16 keep-alive connections for warmup + duration seconds; the figures of the duration.

    Also the server's CPU seconds per request over the same window: unlike requests per
    second, crowding by other processes on the box hardly moves it.
    """
    import psutil

    server = psutil.Process(pid)
    cpu: list[float] = []
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    measuring_from = started + warmup
    until = measuring_from + duration
    counter = iter(range(10**12))

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (now := time.perf_counter()) < until:
                request = requests[next(counter) % len(requests)]
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                done = time.perf_counter()
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
                if now >= measuring_from:
                    latencies.append(done - now)
        finally:
            writer.close()

    async def clock() -> None:
        for moment in (measuring_from, until):
            await asyncio.sleep(moment - time.perf_counter())
            times = server.cpu_times()
            cpu.append(times.user + times.system)

    await asyncio.gather(clock(), *(connection() for _ in range(CONNECTIONS)))
    return {
        "cpu_us": (cpu[1] - cpu[0]) / max(len(latencies), 1) * 1e6,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / duration,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def load_main(argv: list[str]) -> None:
    """`bench_coverage.py load PORT PID PATH_PREFIX NIKS_FILE WARMUP DURATION [TOKEN]`"""
    port, pid, prefix, niks_file, warmup, duration = argv[:6]
    token = argv[6] if len(argv) > 6 else None
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    niks = Path(niks_file).read_text().split()
    requests = [
        f"GET {prefix}{nik}?on={ON} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode() for nik in niks
    ]
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(drive(int(port), int(pid), requests, float(warmup), float(duration)))
    print(json.dumps(result))


def run_load(
    port: int, pid: int, prefix: str, niks_file: Path, duration: float, token: str | None = None
) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "load", str(port), str(pid), prefix, str(niks_file), "2",
        str(duration),
    ]  # fmt: skip
    if token:
        command.append(token)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output))


# ---------------------------------------------------------------- the database


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
    from app.cli import migrate as run_migrations

    run_migrations(url)


Cohorts = list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]


async def seed_parties(connection: Any) -> tuple[Cohorts, uuid.UUID]:
    """Branches, KPU offices and agreements with a KPPS 2024 and a PPK 2023 cohort each.

    Returns (agreement, KPPS cohort, PPK cohort) per agreement, and an integrator (a
    hospital) whose key does the reading.
    """
    organization = (
        "INSERT INTO organizations (kind, name, region_code) VALUES ($1, $2, '12.09') RETURNING id"
    )
    branches = [
        await connection.fetchval(organization, "bpjs_branch", f"BPJS Cabang {n}") for n in range(8)
    ]
    integrator = await connection.fetchval(organization, "integrator", "RSUD Kisaran")
    cohorts: Cohorts = []
    for n in range(AGREEMENTS):
        kpu = await connection.fetchval(organization, "kpu", f"KPU {n}")
        agreement = await connection.fetchval(
            "INSERT INTO agreements (number, bpjs_branch_id, counterpart_id, payer_id,"
            " election_code, region_code, signed_on, programs, status)"
            " VALUES ($1, $2, $3, $3, 'pilkada-2024', '12.09', '2024-10-28',"
            " ARRAY['JKK', 'JKM'], 'active') RETURNING id",
            f"PKS/{n:03d}/2024",
            branches[n % len(branches)],
            kpu,
        )
        cohort = (
            "INSERT INTO cohorts (agreement_id, role_code, election_code, planned_headcount,"
            " coverage_start, coverage_end) VALUES ($1, $2, 'pilkada-2024', 1000000, $3, $4)"
            " RETURNING id"
        )
        kpps = await connection.fetchval(cohort, agreement, "KPPS", *KPPS)
        ppk = await connection.fetchval(cohort, agreement, "PPK", *PPK)
        cohorts.append((agreement, kpps, ppk))
    return cohorts, integrator


def random_niks(rng: random.Random, count: int, districts: list[str], taken: set[int]) -> list[int]:
    niks: list[int] = []
    born = datetime.date(1960, 1, 1)
    while len(niks) < count:
        day = born + datetime.timedelta(days=rng.randrange(16_000))
        dd = day.day + 40 * rng.randrange(2)
        nik = int(f"{rng.choice(districts)}{dd:02d}{day:%m%y}{rng.randint(1, 9999):04d}")
        if nik not in taken:
            taken.add(nik)
            niks.append(nik)
    return niks


CONFLICT = orjson.dumps(
    {
        "body": "bawaslu",
        "role": "PTPS",
        "coverage_start": "2024-11-01",
        "coverage_end": "2024-12-31",
    }
).decode()
COLUMNS = [
    "nik", "agreement_id", "cohort_id", "role_code", "position", "full_name", "birth_date",
    "sex", "region_code", "tps", "coverage_start", "coverage_end", "ended_on", "status",
    "conflict", "kpj",
]  # fmt: skip


def registration_rows(
    rng: random.Random, niks: list[int], cohorts: list[Any], villages: list[str], serial: int
) -> Iterator[tuple[Any, ...]]:
    """Mostly active KPPS; some terminated, held, rejected; 5% also in a 2023 PPK cohort."""
    birth = datetime.date(1990, 5, 17)
    for nik in niks:
        agreement, kpps, ppk = cohorts[nik % len(cohorts)]
        draw = rng.random()
        status, ended_on, conflict = "active", None, None
        if draw < 0.03:
            status, ended_on = "terminated", KPPS[0] + datetime.timedelta(days=rng.randrange(60))
        elif draw < 0.05:
            status, conflict = "held", CONFLICT
        elif draw < 0.07:
            status = "rejected"
        serial += 1
        kpj = f"{serial:011d}" if rng.random() < 0.1 else None
        village = villages[nik % len(villages)]
        yield (
            nik, agreement, kpps, "KPPS", "anggota", "Ani Setiawan", birth, "L", village, "019",
            KPPS[0], KPPS[1], ended_on, status, conflict, kpj,
        )  # fmt: skip
        if draw > 0.95:
            yield (
                nik, agreement, ppk, "PPK", "ketua", "Ani Setiawan", birth, "L", village, None,
                PPK[0], PPK[1], None, "active", None, None,
            )  # fmt: skip


@contextlib.asynccontextmanager
async def indexes_set_aside(connection: Any) -> AsyncIterator[None]:
    """Drop the secondary indexes and exclusion constraints of registrations for a bulk load
    and rebuild them after from their own definitions, so the schema measured is the one the
    migrations made (row by row, the 7M load took 15 minutes; rebuilt, a few)."""
    constraints = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'registrations'::regclass AND contype = 'x'"
    )
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registrations'"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'registrations'::regclass)"
    )
    for name, _ in constraints:
        await connection.execute(f"ALTER TABLE registrations DROP CONSTRAINT {name}")
    for name, _ in indexes:
        await connection.execute(f"DROP INDEX {name}")
    yield
    await connection.execute("SET maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        await connection.execute(definition)
    for name, definition in constraints:
        await connection.execute(f"ALTER TABLE registrations ADD CONSTRAINT {name} {definition}")


async def load_registrations(
    url: str, count: int, state: dict[str, Any], rng: random.Random
) -> tuple[int, float]:
    """Adds `count` NIKs' registrations; the rows added and the seconds it took."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        if "cohorts" not in state:
            state["cohorts"], state["integrator"] = await seed_parties(connection)
            state["villages"] = [
                row[0]
                for row in await connection.fetch(
                    "SELECT code FROM regions WHERE level = 'village' AND code LIKE '12.09.%'"
                )
            ]
            state["districts"] = [
                row[0].replace(".", "")
                for row in await connection.fetch(
                    "SELECT code FROM regions WHERE level = 'district'"
                )
            ]
            state["taken"] = set()
            state["niks"] = []
            state["serial"] = 0
        started = time.perf_counter()
        added = 0
        remaining = count
        async with indexes_set_aside(connection):
            while remaining:
                size = min(CHUNK, remaining)
                niks = random_niks(rng, size, state["districts"], state["taken"])
                rows = list(
                    registration_rows(
                        rng, niks, state["cohorts"], state["villages"], state["serial"]
                    )
                )
                state["serial"] += size
                await connection.copy_records_to_table(
                    "registrations", records=rows, columns=COLUMNS
                )
                state["niks"].extend(niks)
                added += len(rows)
                remaining -= size
                print(f"  loaded {len(state['niks']):,} NIKs", end="\r", flush=True)
            print("  rebuilding the indexes and exclusion constraints", end="\r", flush=True)
        await connection.execute("VACUUM ANALYZE registrations")
        return added, time.perf_counter() - started
    finally:
        await connection.close()


# ---------------------------------------------------------------- the servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(port: int, process: subprocess.Popen[bytes], path: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"server on {port} did not start")


@contextlib.contextmanager
def servers(
    url: str, data_dir: Path, log_level: str = "WARNING"
) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """The app (its log lines, at INFO one per request, go to data_dir/app.log) and the bare."""
    app_port, bare_port = free_port(), free_port()
    base = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}
    app_log = (data_dir / "app.log").open("wb")
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=REPO,
        env={
            **base,
            "DATABASE_URL": url,
            "ADMIN_API_KEY": ADMIN_KEY,
            "PORT": str(app_port),
            "WORKERS": "1",
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": log_level,
            # The limiter counts every lookup, at a limit this load never reaches.
            "RATE_LIMIT_PER_KEY": "100000000/minute",
        },
        stdout=subprocess.DEVNULL,
        stderr=app_log,
    )
    uvicorn = [sys.executable, "-m", "uvicorn", "bench_coverage:bare_app", "--factory"]
    options = ["--app-dir", str(REPO / "bench"), "--port", str(bare_port), "--workers", "1"]
    bare = subprocess.Popen(
        [*uvicorn, *options, "--no-access-log", "--log-level", "warning"],
        cwd=REPO,
        env={**base, "BARE_DSN": plain_url(url)},
    )
    try:
        wait_until_up(app_port, app, "/healthz")
        wait_until_up(bare_port, bare, f"/bare/1000000000000000?on={ON}")
        yield (app_port, bare_port), (app.pid, bare.pid)
    finally:
        for process in (app, bare):
            process.terminate()
        for process in (app, bare):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        app_log.close()
        echo_problems(data_dir / "app.log")


def echo_problems(log: Path, limit: int = 50) -> None:
    """The app's log lines above INFO (and any not in JSON, as a traceback's), to stderr."""
    shown: list[str] = []
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            with contextlib.suppress(ValueError, AttributeError):
                if json.loads(line).get("level") in ("INFO", "DEBUG"):
                    continue
            shown.append(line)
    sys.stderr.writelines(shown[:limit])


def issue_key(port: int, organization_id: uuid.UUID) -> str:
    import httpx

    response = httpx.post(
        f"http://127.0.0.1:{port}/v1/organizations/{organization_id}/api-keys",
        json={"name": "bench hospital", "scopes": ["coverage:read", "pii:read"]},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    response.raise_for_status()
    return str(response.json()["key"])


# ---------------------------------------------------------------- measuring


def sample_niks(
    rng: random.Random, state: dict[str, Any], path: Path, count: int = 200_000
) -> None:
    loaded: list[int] = state["niks"]
    niks = [rng.choice(loaded) for _ in range(count)]
    misses = random_niks(rng, int(count * MISS_SHARE), state["districts"], set(state["taken"]))
    niks[: len(misses)] = misses
    rng.shuffle(niks)
    path.write_text("\n".join(str(nik) for nik in niks))


def single_lookups(
    ports: tuple[int, int],
    pids: tuple[int, int],
    token: str,
    niks_file: Path,
    duration: float,
    rounds: int,
) -> dict[str, dict[str, float]]:
    app_port, bare_port = ports
    runs: dict[str, list[dict[str, Any]]] = {"app": [], "bare": []}
    for _ in range(rounds):
        runs["app"].append(run_load(app_port, pids[0], "/v1/coverage/", niks_file, duration, token))
        runs["bare"].append(run_load(bare_port, pids[1], "/bare/", niks_file, duration))
    summary: dict[str, dict[str, float]] = {}
    for name, results in runs.items():
        for result in results:
            if result["errors"]:
                raise SystemExit(f"{name}: {result['errors']} non-200 answers")
        summary[name] = {
            key: statistics.median(result[key] for result in results)
            for key in ("rps", "p50_ms", "p99_ms", "cpu_us")
        }
        summary[name]["rounds"] = len(results)
    return summary


def batch_timings(
    port: int, token: str, state: dict[str, Any], rng: random.Random
) -> tuple[list[float], list[float], list[int]]:
    """Seconds per 10,000-NIK batch: fresh NIKs each time, then the last batch repeated
    (its pages now cached); and the last fresh batch's NIKs, for the database's own view."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(client: httpx.Client, niks: list[int]) -> float:
        body = orjson.dumps({"on": ON, "niks": [str(nik) for nik in niks]})
        started = time.perf_counter()
        response = client.post("/v1/coverage/checks", content=body, headers=headers)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        assert len(response.json()["results"]) == BATCH
        return elapsed

    fresh, repeated = [], []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for _ in range(BATCH_ROUNDS):
            niks = [rng.choice(state["niks"]) for _ in range(BATCH)]
            fresh.append(post(client, niks))
        for _ in range(3):
            repeated.append(post(client, niks))
    # The first warms the connection and the prepared statement.
    return fresh[1:], repeated, [rng.choice(state["niks"]) for _ in range(BATCH)]


async def explain_batch(url: str, niks: list[int]) -> str:
    """What the database did for one fresh batch: buffers found cached or read, read time."""
    from app.coverage.repository import COVERAGE_OF_NIKS_WITHHELD

    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute("SET track_io_timing = on")
        explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {COVERAGE_OF_NIKS_WITHHELD}"
        plan = orjson.loads(await connection.fetchval(explain, niks, None))[0]
    finally:
        await connection.close()
    top = plan["Plan"]
    return (
        f"{plan['Execution Time']:.0f} ms in the database; shared buffers hit"
        f" {top.get('Shared Hit Blocks', 0):,}, read {top.get('Shared Read Blocks', 0):,}"
        f" in {top.get('I/O Read Time', top.get('Shared I/O Read Time', 0)):.0f} ms"
    )


def report(label: str, summary: dict[str, dict[str, float]]) -> None:
    app, bare = summary["app"], summary["bare"]
    print(f"\n{label}: median of {int(app['rounds'])} runs, {CONNECTIONS} connections each")
    print(f"  {'':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU us/req':>18}")
    for name, row in (("GET /v1/coverage/{nik}", app), ("bare FastAPI + asyncpg", bare)):
        print(
            f"  {name:24} {row['rps']:8.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}"
            f" {row['cpu_us']:18.0f}"
        )
    print(
        f"  app / bare: {app['rps'] / bare['rps']:.2f} in req/s (target >= 0.90),"
        f" {bare['cpu_us'] / app['cpu_us']:.2f} in server CPU per request"
    )


def report_batch(label: str, timings: tuple[list[float], list[float], list[int]], url: str) -> None:
    fresh, repeated, niks = timings
    print(
        f"\nPOST /v1/coverage/checks with {BATCH:,} NIKs, {label} (target < 0.25 s):\n"
        f"  fresh NIKs: median {statistics.median(fresh):.3f} s, max {max(fresh):.3f} s"
        f" over {len(fresh)} runs; the same batch again: median"
        f" {statistics.median(repeated):.3f} s\n"
        f"  one more fresh batch, EXPLAIN ANALYZE: {asyncio.run(explain_batch(url, niks))}"
    )


async def access_log_rows(url: str) -> int:
    connection = await asyncpg.connect(plain_url(url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM access_log"))
    finally:
        await connection.close()


async def reload_state(url: str, state: dict[str, Any]) -> None:
    """What a kept database holds, for --reuse (no more loading then)."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        state["niks"] = [
            row[0] for row in await connection.fetch("SELECT DISTINCT nik FROM registrations")
        ]
        state["taken"] = set(state["niks"])
        state["integrator"] = await connection.fetchval(
            "SELECT id FROM organizations WHERE kind = 'integrator'"
        )
        state["districts"] = [
            row[0].replace(".", "")
            for row in await connection.fetch("SELECT code FROM regions WHERE level = 'district'")
        ]
    finally:
        await connection.close()


async def count_rows(url: str) -> int:
    connection = await asyncpg.connect(plain_url(url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM registrations"))
    finally:
        await connection.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=1_000_000,
        help="NIKs loaded first; 5%% also hold a 2023 registration: about 1.05 rows each",
    )
    parser.add_argument(
        "--big-rows", type=int, default=7_000_000, help="NIKs in all for the second run; 0 skips it"
    )
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and size")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="the app's LOG_LEVEL (INFO writes a JSON line per request; the bare writes none)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--reuse", help="measure a kept bench database, loading nothing")
    args = parser.parse_args(argv)

    rng = random.Random(2026)
    server = server_url()
    name = args.reuse or f"perisai_bench_{uuid.uuid4().hex[:8]}"
    url = with_database(server, name)
    print(f"database {name}; {os.cpu_count()} CPUs shared by PostgreSQL, the servers, the client")
    print(f"the app logs at {args.log_level}")
    state: dict[str, Any] = {}
    if args.reuse:
        asyncio.run(reload_state(url, state))
    else:
        asyncio.run(execute(server, f'CREATE DATABASE "{name}"'))
    try:
        if not args.reuse:
            migrate(url)
            added, seconds = asyncio.run(load_registrations(url, args.rows, state, rng))
            print(f"loaded {added:,} registrations ({args.rows:,} NIKs) in {seconds:.0f} s")
        with (
            tempfile.TemporaryDirectory() as scratch,
            servers(url, Path(scratch), args.log_level) as running,
        ):
            ports, pids = running
            token = issue_key(ports[0], state["integrator"])
            niks_file = Path(scratch) / "niks.txt"

            def measure() -> dict[str, dict[str, float]]:
                total = asyncio.run(count_rows(url))
                sample_niks(rng, state, niks_file)
                summary = single_lookups(ports, pids, token, niks_file, args.duration, args.rounds)
                report(f"{total:,} registrations", summary)
                timings = batch_timings(ports[0], token, state, rng)
                report_batch(f"{total:,} registrations", timings, url)
                return summary

            small = measure()
            if args.big_rows > len(state["niks"]) and not args.reuse:
                more = args.big_rows - len(state["niks"])
                added, seconds = asyncio.run(load_registrations(url, more, state, rng))
                print(f"\nloaded {added:,} more registrations in {seconds:.0f} s")
                big = measure()
                growth = big["app"]["p50_ms"] / small["app"]["p50_ms"]
                print(f"\np50 of the app, larger / smaller table: {growth:.2f} (target <= 1.2)")
        time.sleep(1)  # the app's last access-log flush runs at its shutdown
        print(f"access_log rows written by the app: {asyncio.run(access_log_rows(url)):,}")
    finally:
        if not args.keep and not args.reuse:
            asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
    else:
        main(sys.argv[1:])
