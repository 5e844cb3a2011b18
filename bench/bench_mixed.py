"""Election-day mixed load: 7,000,000 registrations, then everything at once for 60 seconds.

    flock /tmp/perisai-bench.lock .venv/bin/python bench/bench_mixed.py \
        [--rows 7000000] [--database NAME] [--duration 60] [--alone 20] [--push-rows 200000] \
        [--without batch|claims]

The database (default `perisai_bench_mixed` on $DATABASE_URL's server, else the embedded one)
is kept: the first run migrates it and loads --rows NIKs with bench_coverage.py's COPY path
(secondary indexes and exclusion constraints set aside and rebuilt, the time printed), later runs
reuse it (`--drop` drops it at the end). Then `python -m app serve` (--workers) and:

1. the coverage lookups alone: 16 keep-alive connections from a load generator in its own
   process, as fast as the server answers, for --alone seconds;
2. for --duration seconds at once: the same lookups; a --push-rows-row CSV roster pushed to a
   new agreement and polled until its batch completes; 10,000-NIK batch checks one after
   another; claims filed (JKK, by registration id) and each moved submitted -> verified.

It prints per operation: count, throughput, p50, p99, errors; the lookups during the push
against the lookups alone (goal: p99 at most 3 x); and the 10,000-NIK batch (goal <= 0.25 s).
Every request after the first answer of its kind is counted; an error is any unexpected status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
import psutil  # noqa: E402

from app.core.database import plain_url  # noqa: E402
from app.core.giveway import waited_for_a_core  # noqa: E402
from bench import bench_coverage, bench_rosters  # noqa: E402

ADMIN_KEY = bench_coverage.ADMIN_KEY
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ON = bench_coverage.ON
CONNECTIONS = 16
BATCH = 10_000
SAMPLE = 200_000


# ---------------------------------------------------------------- the database, kept


async def registrations_in(url: str) -> int | None:
    """Registrations in the kept database; None when it is not there or not loaded."""
    try:
        connection = await asyncpg.connect(plain_url(url))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if await connection.fetchval("SELECT to_regclass('registrations')") is None:
            return None
        return int(await connection.fetchval("SELECT count(*) FROM registrations"))
    finally:
        await connection.close()


def prepare(server: str, url: str, name: str, rows: int) -> None:
    found = asyncio.run(registrations_in(url))
    if found:
        print(f"reusing {name}: {found:,} registrations")
        return
    with contextlib.suppress(asyncpg.DuplicateDatabaseError):
        asyncio.run(bench_coverage.execute(server, f'CREATE DATABASE "{name}"'))
    bench_coverage.migrate(url)
    state: dict[str, Any] = {}
    added, seconds = asyncio.run(
        bench_coverage.load_registrations(url, rows, state, random.Random(2026))
    )
    print(f"\nloaded {added:,} registrations ({rows:,} NIKs) into {name} in {seconds:.0f} s")


async def sample(url: str) -> dict[str, Any]:
    """NIKs to look up (10% nobody's), the integrator, and one agreement's parties for claims."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        niks = [
            row[0]
            for row in await connection.fetch(
                "SELECT nik FROM registrations TABLESAMPLE SYSTEM (2) REPEATABLE (7) LIMIT $1",
                SAMPLE,
            )
        ]
        districts = [
            row[0].replace(".", "")
            for row in await connection.fetch("SELECT code FROM regions WHERE level = 'district'")
        ]
        agreement = await connection.fetchrow(
            "SELECT id, bpjs_branch_id, counterpart_id FROM agreements"
            " WHERE number = 'PKS/000/2024'"
        )
        registrations = [
            int(row[0])
            for row in await connection.fetch(
                "SELECT r.id FROM registrations r WHERE r.agreement_id = $1"
                " AND r.status = 'active' AND r.role_code = 'KPPS'"
                " AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.registration_id = r.id)"
                " LIMIT 5000",
                agreement["id"],
            )
        ]
        return {
            "niks": niks,
            "districts": districts,
            "integrator": await connection.fetchval(
                "SELECT id FROM organizations WHERE kind = 'integrator' LIMIT 1"
            ),
            "agreement": agreement,
            "registrations": registrations,
        }
    finally:
        await connection.close()


async def sizes(url: str) -> None:
    """Rows, bytes per registration, and every index of registrations, as stored now."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetchval("SELECT count(*) FROM registrations")
        niks = await connection.fetchval("SELECT count(DISTINCT nik) FROM registrations")
        heap, total = await connection.fetchrow(
            "SELECT pg_relation_size('registrations'), pg_total_relation_size('registrations')"
        )
        indexes = await connection.fetch(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'registrations'::regclass ORDER BY 2 DESC"
        )
        mib = 1024 * 1024
        print(f"\nregistrations: {rows:,} rows, {niks:,} NIKs")
        print(f"  table (heap) {heap / mib:,.0f} MiB, {heap / rows:.0f} bytes a registration")
        for name, size in indexes:
            print(f"  {name:<44} {size / mib:>8,.0f} MiB  {size / rows:>5.0f} bytes a row")
        everything = f"{total / mib:,.0f} MiB, {total / rows:.0f} bytes a row"
        print(f"  all, TOAST and indexes too: {everything}")
    finally:
        await connection.close()


# ---------------------------------------------------------------- the lookups, in a process


def lookups_main(argv: list[str]) -> None:
    """`bench_mixed.py lookups PORT TOKEN NIKS_FILE SECONDS OUT`: (wall start, seconds, ok)."""
    port, token, niks_file, seconds, out = argv[:5]
    niks = Path(niks_file).read_text().split()
    auth = f"Authorization: Bearer {token}\r\n"
    requests = [
        f"GET /v1/coverage/{nik}?on={ON} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()
        for nik in niks
    ]
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    samples = asyncio.run(drive(int(port), requests, float(seconds)))
    Path(out).write_bytes(orjson.dumps(samples))


async def drive(port: int, requests: list[bytes], seconds: float) -> list[tuple[float, float, int]]:
    samples: list[tuple[float, float, int]] = []
    until = time.perf_counter() + seconds
    offset = time.time() - time.perf_counter()
    counter = iter(range(10**12))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (now := time.perf_counter()) < until:
                writer.write(requests[next(counter) % len(requests)])
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                ok = int(head.startswith(b"HTTP/1.1 200"))
                samples.append((now + offset, time.perf_counter() - now, ok))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return samples


def run_lookups(port: int, token: str, niks_file: Path, seconds: float) -> subprocess.Popen[bytes]:
    out = niks_file.with_suffix(f".{uuid.uuid4().hex[:6]}.json")
    command = [sys.executable, __file__, "lookups", str(port), token, str(niks_file)]
    process = subprocess.Popen([*command, str(seconds), str(out)])
    process.out = out  # type: ignore[attr-defined]
    return process


def lookup_samples(process: subprocess.Popen[bytes]) -> list[tuple[float, float, int]]:
    process.wait()
    out: Path = process.out  # type: ignore[attr-defined]
    samples = [tuple(sample) for sample in orjson.loads(out.read_bytes())]
    out.unlink()
    return samples


# ---------------------------------------------------------------- the other operations


@dataclass
class Operation:
    name: str
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (start, s, ok)

    def timed(self, call: Callable[[], httpx.Response], expected: int) -> httpx.Response | None:
        started = time.time()
        try:
            response = call()
        except httpx.HTTPError:
            self.samples.append((started, time.time() - started, 0))
            return None
        self.samples.append((started, time.time() - started, int(response.status_code == expected)))
        return response


def batch_loop(base: str, token: str, niks: list[int], until: float, op: Operation) -> None:
    rng = random.Random(11)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, timeout=120) as client:
        while time.time() < until:
            body = orjson.dumps({"on": ON, "niks": [str(rng.choice(niks)) for _ in range(BATCH)]})
            op.timed(
                partial(client.post, "/v1/coverage/checks", content=body, headers=headers), 200
            )


def claims_loop(
    base: str, filer: dict[str, str], reviewer: dict[str, str], ids: list[int], until: float,
    filed: Operation, moved: Operation,
) -> None:  # fmt: skip
    from bench.bench_claims import claim_body

    with httpx.Client(base_url=base, timeout=60) as client:
        for n, registration in enumerate(ids):
            if time.time() >= until:
                return
            body = claim_body({"registration_id": registration}, n)
            response = filed.timed(
                partial(client.post, "/v1/claims", json=body, headers=filer), 201
            )
            if response is None or response.status_code != 201:
                continue
            claim = response.json()["id"]
            headers = {**reviewer, "If-Match": '"1"'}
            move = f"/v1/claims/{claim}/transitions"
            moved.timed(partial(client.post, move, json={"to": "verified"}, headers=headers), 200)


def push(
    base: str, agreement: str, headers: dict[str, str], path: Path, op: Operation
) -> dict[str, Any]:
    started = time.time()
    batch = bench_rosters.upload(base, agreement, headers, path)
    ok = int(batch["status"] == "completed")
    op.samples.append((started, time.time() - started, ok))
    return batch


# ---------------------------------------------------------------- figures


def collector_pauses(base: str) -> dict[str, float]:
    """The server's garbage-collector pauses so far, from /metrics (one worker's, with --workers
    > 1): full collections and their seconds, and pauses of any generation over 10 ms."""
    values: dict[str, float] = {}
    for line in httpx.get(f"{base}/metrics", timeout=30).text.splitlines():
        if line.startswith("perisai_gc_pause_seconds"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    generations = ("0", "1", "2")

    def bucket(generation: str, bound: str) -> float:
        return values[f'perisai_gc_pause_seconds_bucket{{generation="{generation}",le="{bound}"}}']

    return {
        "full": values['perisai_gc_pause_seconds_count{generation="2"}'],
        "full_s": values['perisai_gc_pause_seconds_sum{generation="2"}'],
        "over_10ms": sum(bucket(g, "+Inf") - bucket(g, "0.01") for g in generations),
    }


def cpu_by_part(server: int) -> dict[str, float]:
    """CPU seconds so far of each part on this box: the serving processes (the server, or with
    --workers > 1 its workers) and their processes for bulk work (niced), PostgreSQL's backends
    by whom they serve (theirs, this script's, or PostgreSQL's own processes and backends of
    clients gone), this script, and the load generators it has waited for (so taken after
    lookup_samples); and `waited`, the serving processes' event loops' time waiting for a core
    (app.core.giveway's figure)."""
    parts = dict.fromkeys(
        (
            "serving",
            "bulk workers",
            "PostgreSQL for serving",
            "PostgreSQL for bulk",
            "PostgreSQL for this script",
            "PostgreSQL, own",
            "load generator",
            "this script",
            "waited",
        ),
        0.0,
    )
    root = psutil.Process(server)
    family = {root.pid: root} | {child.pid: child for child in root.children(recursive=True)}
    serving = {pid for pid, process in family.items() if process.nice() <= root.nice()}
    clients = client_of_port()
    for process in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        with contextlib.suppress(psutil.Error, TypeError):
            times = process.info["cpu_times"]
            seconds = times.user + times.system
            if process.pid in family:
                parts["serving" if process.pid in serving else "bulk workers"] += seconds
                if process.pid in serving:
                    parts["waited"] += waited_for_a_core(process.pid) or 0.0
            elif process.info["name"].startswith(("postgres", "postmaster")):
                client = clients.get(backend_port(process.info["cmdline"]) or 0)
                if client in serving:
                    parts["PostgreSQL for serving"] += seconds
                elif client in family:
                    parts["PostgreSQL for bulk"] += seconds
                elif client == os.getpid():
                    parts["PostgreSQL for this script"] += seconds
                else:
                    parts["PostgreSQL, own"] += seconds
            elif process.pid == os.getpid():
                parts["this script"] += seconds
    waited_for = resource.getrusage(resource.RUSAGE_CHILDREN)
    parts["load generator"] = waited_for.ru_utime + waited_for.ru_stime
    return parts


def client_of_port() -> dict[int, int]:
    """The local TCP ports of this box's connections, each to the pid that holds it (all
    processes' only as root; else this user's)."""
    with contextlib.suppress(psutil.Error):
        return {c.laddr.port: c.pid for c in psutil.net_connections("tcp") if c.pid and c.laddr}
    return {}


def backend_port(cmdline: list[str]) -> int | None:
    """A backend's client port, from its title: `postgres: user db 127.0.0.1(54321) idle`."""
    title = " ".join(cmdline)
    opening = title.find("(")
    closing = title.find(")", opening)
    with contextlib.suppress(ValueError):
        return int(title[opening + 1 : closing]) if 0 <= opening < closing else None
    return None


def print_cpu(
    title: str, before: dict[str, float], after: dict[str, float], seconds: float, workers: int
) -> None:
    used = {part: after[part] - before[part] for part in before}
    waited = used.pop("waited") / workers
    shares = ", ".join(f"{part} {value / seconds:.2f}" for part, value in used.items())
    print(
        f"  cores used, {title}: {shares} (of {psutil.cpu_count()});"
        f" each serving process waited for a core {waited / seconds:.0%} of the time"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def row(name: str, samples: list[tuple[float, float, int]], seconds: float) -> dict[str, Any]:
    latencies = [s for _, s, _ in samples]
    return {
        "operation": name,
        "count": len(samples),
        "per_s": len(samples) / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": sum(1 for *_, ok in samples if not ok),
    }


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'operation':<44} {'count':>7} {'per s':>8} {'p50 ms':>9} {'p99 ms':>9} {'errors':>6}"
    )
    for r in rows:
        print(
            f"  {r['operation']:<44} {r['count']:>7} {r['per_s']:>8.1f} {r['p50_ms']:>9.1f}"
            f" {r['p99_ms']:>9.1f} {r['errors']:>6}"
        )


# ---------------------------------------------------------------- the run


def issue(base: str, organization: Any, scopes: list[str]) -> dict[str, str]:
    response = httpx.post(
        f"{base}/v1/organizations/{organization}/api-keys",
        json={"name": "mixed bench", "scopes": scopes},
        headers=ADMIN,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['key']}"}


def run(args: argparse.Namespace, url: str, scratch: Path) -> None:
    data = asyncio.run(sample(url))
    rng = random.Random(int(time.time()))
    misses = bench_coverage.random_niks(rng, SAMPLE // 10, data["districts"], set(data["niks"]))
    niks = data["niks"] + misses
    rng.shuffle(niks)
    niks_file = scratch / "niks.txt"
    niks_file.write_text("\n".join(map(str, niks)))
    roster = scratch / "roster.csv"
    villages = asyncio.run(bench_rosters.villages_of(url))
    bench_rosters.generate(roster, args.push_rows, villages, seed=rng.randrange(10**9))

    port = bench_coverage.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ADMIN_API_KEY": ADMIN_KEY,
        "PORT": str(port),
        "WORKERS": str(args.workers),
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(scratch),
        "RATE_LIMIT_PER_KEY": "100000000/minute",  # one key does all the lookups
        **dict(item.split("=", 1) for item in args.env),
    }
    log = (scratch / "app.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        bench_coverage.wait_until_up(port, server, "/readyz")
        integrator = issue(base, data["integrator"], ["coverage:read"])
        token = integrator["Authorization"].removeprefix("Bearer ")
        agreement = data["agreement"]
        filer = issue(base, agreement["counterpart_id"], ["claims:write"])
        reviewer = issue(base, agreement["bpjs_branch_id"], ["claims:review"])
        with httpx.Client(base_url=base, headers=ADMIN, timeout=60) as admin:
            push_agreement, pusher = bench_rosters.setup_through_api(admin, args.push_rows)
        # Warm-up: a lookup, a batch, a claim (each first answer of its kind is not counted).
        httpx.get(f"{base}/v1/coverage/{niks[0]}", params={"on": ON}, headers=integrator)
        batch_loop(base, token, data["niks"], time.time() + 0.1, Operation("warm"))

        print(f"\nlookups alone, {args.alone:.0f} s, {CONNECTIONS} connections")
        generator = run_lookups(port, token, niks_file, args.alone)
        cpu_before = cpu_by_part(server.pid)
        alone = lookup_samples(generator)
        print_table("alone", [row("GET /v1/coverage/{nik}", alone, args.alone)])
        print_cpu("alone", cpu_before, cpu_by_part(server.pid), args.alone, args.workers)

        print(f"\nmixed, {args.duration:.0f} s")
        until = time.time() + args.duration
        ops = {
            "batch": Operation("POST /v1/coverage/checks (10,000 NIKs)"),
            "push": Operation(f"roster push ({args.push_rows:,} rows CSV, to completed)"),
            "file": Operation("POST /v1/claims"),
            "move": Operation("POST /v1/claims/{id}/transitions"),
        }
        lookups = run_lookups(port, token, niks_file, args.duration)
        pushed: dict[str, Any] = {}
        threads = [
            threading.Thread(
                target=lambda: pushed.update(
                    push(base, push_agreement, pusher, roster, ops["push"])
                )
            ),
            threading.Thread(
                target=batch_loop, args=(base, token, data["niks"], until, ops["batch"])
            ),
            threading.Thread(
                target=claims_loop,
                args=(
                    base,
                    filer,
                    reviewer,
                    data["registrations"],
                    until,
                    ops["file"],
                    ops["move"],
                ),
            ),
        ]
        threads = [
            t
            for t, name in zip(threads, ("push", "batch", "claims"), strict=True)
            if name not in args.without
        ]
        pauses_before = collector_pauses(base)
        cpu_before = cpu_by_part(server.pid)
        mixed_started = time.time()
        for thread in threads:
            thread.start()
        mixed = lookup_samples(lookups)
        cpu_after = cpu_by_part(server.pid)
        mixed_seconds = time.time() - mixed_started
        for thread in threads:
            thread.join()
        pauses = {k: v - pauses_before[k] for k, v in collector_pauses(base).items()}
        window = args.duration
        push_start, push_seconds, _ = ops["push"].samples[0]
        during = [s for s in mixed if push_start <= s[0] <= push_start + push_seconds]
        rows = [
            row("GET /v1/coverage/{nik}", mixed, window),
            row("GET /v1/coverage/{nik} while the push ran", during, min(push_seconds, window)),
            *(row(op.name, op.samples, window) for op in ops.values()),
        ]
        print_table("mixed (per s over the whole window; the push: its own time)", rows)
        print(f"  the push: {pushed.get('status')}, counts {pushed.get('counts')}")
        print_cpu("the mixed minute", cpu_before, cpu_after, mixed_seconds, args.workers)
        alone_p99 = percentile([s for _, s, _ in alone], 0.99)
        during_p99 = percentile([s for _, s, _ in during], 0.99)
        print(
            f"\nlookup p99 while the push ran / alone: {during_p99 / alone_p99:.2f}"
            f" ({during_p99 * 1000:.1f} / {alone_p99 * 1000:.1f} ms; goal <= 3)"
        )
        print(
            f"the server's garbage collector in the mix: {pauses['full']:.0f} full collections,"
            f" {pauses['full_s'] * 1000:.0f} ms in all; {pauses['over_10ms']:.0f} pauses over 10 ms"
        )
        batches = [s for _, s, ok in ops["batch"].samples if ok]
        if batches:
            print(
                f"10,000-NIK batch during the mix: median {statistics.median(batches):.3f} s"
                f" (goal <= 0.25 s quiet)"
            )
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
        log.close()
        bench_coverage.echo_problems(scratch / "app.log")


# ---------------------------------------------------------------- the 10,000-NIK batch, inside


async def batch_inside(url: str) -> None:
    """Where a 10,000-NIK batch's time goes: EXPLAIN (ANALYZE, BUFFERS) of its query on fresh
    NIKs, then the service's whole call (query, answers, JSON) under cProfile, in-process."""
    import cProfile
    import pstats

    from app.core.auth import Principal
    from app.coverage import repository, service
    from app.coverage.schemas import CoverageCheckRequest

    data = await sample(url)
    rng = random.Random(5)
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute("SET track_io_timing = on")
        niks = [rng.choice(data["niks"]) for _ in range(BATCH)]
        rows = await connection.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) " + repository.COVERAGE_OF_NIKS_WITHHELD, niks, None
        )
        single = await connection.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) " + repository.COVERAGE_OF_NIK_WITHHELD,
            rng.choice(data["niks"]),
            None,
        )
        print("\nEXPLAIN (ANALYZE, BUFFERS), one lookup, masked caller:")
        print("\n".join(f"  {row[0][:150]}" for row in single))
        print("\nEXPLAIN (ANALYZE, BUFFERS), 10,000 fresh NIKs, masked caller:")
        print("\n".join(f"  {row[0][:150]}" for row in rows))
        principal = Principal(None, data["integrator"], "integrator", frozenset({"coverage:read"}))

        @contextlib.asynccontextmanager
        async def connect() -> Any:
            yield connection

        async def one() -> float:
            body = CoverageCheckRequest.model_validate(
                {"on": ON, "niks": [str(rng.choice(data["niks"])) for _ in range(BATCH)]}
            )
            started = time.perf_counter()
            await service.check_many_json(connect, principal, data=body, access_log=None)
            return time.perf_counter() - started

        await connection.execute("BEGIN")  # the access-log rows of the calls are rolled back
        timings = [await one() for _ in range(5)]
        profiler = cProfile.Profile()
        profiler.enable()
        await one()
        profiler.disable()
        await connection.execute("ROLLBACK")
        print(f"\ncheck_many_json in-process: median {statistics.median(timings):.3f} s of 5")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(14)
    finally:
        await connection.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=7_000_000, help="NIKs in the kept database")
    parser.add_argument("--database", default="perisai_bench_mixed")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--alone", type=float, default=20.0)
    parser.add_argument("--push-rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=("batch", "claims"),
        help="leave this operation out of the mixed minute (to see what each costs the lookups)",
    )
    parser.add_argument("--load-only", action="store_true", help="load the database and stop")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument(
        "--batch-inside", action="store_true", help="only EXPLAIN and profile a 10,000-NIK batch"
    )
    args = parser.parse_args(argv)

    server = bench_coverage.server_url()
    url = bench_coverage.with_database(server, args.database)
    print(f"{os.cpu_count()} CPUs shared by PostgreSQL, the server and the load")
    try:
        prepare(server, url, args.database, args.rows)
        asyncio.run(sizes(url))
        if args.batch_inside:
            asyncio.run(batch_inside(url))
        elif not args.load_only:
            with tempfile.TemporaryDirectory() as scratch:
                run(args, url, Path(scratch))
    finally:
        if args.drop:
            asyncio.run(
                bench_coverage.execute(server, f'DROP DATABASE IF EXISTS "{args.database}"')
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "lookups":
        lookups_main(sys.argv[2:])
    else:
        main(sys.argv[1:])
