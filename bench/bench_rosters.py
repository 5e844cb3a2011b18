"""Benchmark roster uploads: N synthetic KPPS of Asahan as one CSV over HTTP, against the
database's own rate for the same rows (COPY into a staging table + one INSERT ... SELECT).

    .venv/bin/python bench/bench_rosters.py [--rows 1000000]
    .venv/bin/python bench/bench_rosters.py --format xlsx [--rows 100000]

With `--format xlsx` the same rows go up twice, side by side in one run, each to a server of
its own on a fresh database: as the CSV, then as an XLSX workbook (NIK, phone and TPS as text,
dates as Excel dates, written by openpyxl), and the ratio of the two times is the figure.

The server is `python -m app serve` in a subprocess, on a fresh database of the embedded
PostgreSQL (or of $DATABASE_URL's server); its peak RSS (the whole process tree) is sampled
every 0.1 s. The organizations, agreement, cohort and key are made through the API with an
admin key. The database rate is measured on a second fresh database with the same schema and
an empty registrations table, as the HTTP run had, so that neither run meets the other's rows
(the same NIKs in two agreements would be held, not inserted): COPY of the typed rows into a
temporary table, then one INSERT ... SELECT ORDER BY nik into registrations with a batch id,
the statement the service runs for each chunk of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.database import plain_url  # noqa: E402

REGENCY = "12.09"  # Kabupaten Asahan
COHORT_START = datetime.date(2024, 11, 1)
COHORT_END = datetime.date(2024, 12, 31)
HEADER = (
    "NIK;NAMA LENGKAP;TGL LAHIR;JENIS KELAMIN;NO HP;JABATAN;KODE WILAYAH;TPS;TMT;TANGGAL SELESAI"
)
FIRST = ("Ani", "Budi", "Citra", "Dedi", "Eko", "Fajar", "Gita", "Hadi", "Indah", "Joko", "Lina")
LAST = ("Siregar", "Nasution", "Lubis", "Harahap", "Daulay", "Tanjung", "Manurung", "Rangkuti")
UPLOAD_CHUNK = 1 << 20


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from app.core.embedded import embedded_url

    return str(embedded_url(REPO / ".data"))


def with_database(url: str, database: str) -> str:
    head, _, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


async def execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# The roster


def generate(path: Path, rows: int, villages: list[str], seed: int = 2024) -> None:
    """Valid, distinct NIKs born in the village's district; ages 21-59 on voting day."""
    rng = random.Random(seed)
    seen: set[int] = set()
    base = datetime.date(1965, 1, 1)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write(HEADER + "\r\n")
        lines: list[str] = []
        for i in range(rows):
            village = rng.choice(villages)
            born = base + datetime.timedelta(days=rng.randrange(14_000))
            sex = "P" if rng.random() < 0.5 else "L"
            day = born.day + (40 if sex == "P" else 0)
            prefix = int(f"{village[:8].replace('.', '')}{day:02d}{born:%m}{born.year % 100:02d}")
            while True:
                nik = prefix * 10_000 + rng.randint(1, 9999)
                if nik not in seen:
                    seen.add(nik)
                    break
            jabatan = "Ketua KPPS" if i % 7 == 0 else "Anggota KPPS"
            lines.append(
                f"{nik};{rng.choice(FIRST)} {rng.choice(LAST)};{born:%d-%m-%Y};{sex};"
                f"08{rng.randint(10**9, 10**10 - 1)};{jabatan};{village};"
                f"{rng.randint(1, 80):03d};{COHORT_START:%d-%m-%Y};{COHORT_END:%d-%m-%Y}\r\n"
            )
            if len(lines) == 10_000:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))


def staged_records(path: Path, cohort_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """The CSV as typed staging tuples, the shape the server stages, for the database run."""
    records = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for n, (nik, name, born, sex, phone, jabatan, village, tps, _, _) in enumerate(
            reader, start=2
        ):
            records.append(
                (
                    n,
                    int(nik),
                    cohort_id,
                    "KPPS",
                    "ketua" if jabatan.startswith("Ketua") else "anggota",
                    name,
                    datetime.datetime.strptime(born, "%d-%m-%Y").date(),
                    sex,
                    phone,
                    village,
                    tps,
                    COHORT_START,
                    COHORT_END,
                )
            )
    return records


# ---------------------------------------------------------------------------------------------
# The server


class Sampler(threading.Thread):
    """Peak RSS of a process and its children, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            self.stopped.wait(0.1)


def server_cpu(pid: int) -> float:
    """User + system seconds of a process and its children."""
    process = psutil.Process(pid)
    tree = [process, *process.children(recursive=True)]
    return float(sum(p.cpu_times().user + p.cpu_times().system for p in tree))


def start_server(database_url: str, admin_key: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ADMIN_API_KEY": admin_key,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "ENVIRONMENT": "development",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL if not os.environ.get("BENCH_VERBOSE") else None,
    )


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


async def checkpoint(url: str) -> None:
    await execute(url, "CHECKPOINT")


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def setup_through_api(client: httpx.Client, rows: int) -> tuple[str, dict[str, str]]:
    def created(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    tag = uuid.uuid4().hex[:6]
    branch = created(
        client.post(
            "/v1/organizations",
            json={"kind": "bpjs_branch", "name": f"BPJS Kisaran {tag}", "region_code": REGENCY},
        )
    )
    office = created(
        client.post(
            "/v1/organizations",
            json={"kind": "kpu", "name": f"KPU Asahan {tag}", "region_code": REGENCY},
        )
    )
    agreement = created(
        client.post(
            "/v1/agreements",
            json={
                "number": f"PKS/BENCH/{tag}",
                "bpjs_branch_id": branch["id"],
                "counterpart_id": office["id"],
                "election": "pilkada-2024",
                "region_code": REGENCY,
                "signed_on": "2024-11-11",
                "cohorts": [
                    {
                        "role": "KPPS",
                        "planned_headcount": rows,
                        "coverage_start": COHORT_START.isoformat(),
                        "coverage_end": COHORT_END.isoformat(),
                    }
                ],
            },
        )
    )
    created(client.post(f"/v1/agreements/{agreement['id']}/activate"))
    key = created(
        client.post(
            f"/v1/organizations/{office['id']}/api-keys",
            json={"name": "roster bench", "scopes": ["rosters:write", "registrations:read"]},
        )
    )
    return agreement["id"], {"Authorization": f"Bearer {key['key']}"}


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(UPLOAD_CHUNK):
            yield chunk


def upload(
    base: str,
    agreement_id: str,
    headers: dict[str, str],
    path: Path,
    content_type: str = "text/csv",
) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        response = client.post(
            f"/v1/agreements/{agreement_id}/rosters",
            content=file_chunks(path),
            headers={"Content-Type": content_type, "Idempotency-Key": f"bench-{uuid.uuid4()}"},
        )
        if response.status_code == 201:
            return dict(response.json())
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        while True:
            batch = dict(client.get(location).json())
            if batch["status"] in ("completed", "failed"):
                return batch
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# The database's own rate


async def database_rate(url: str, path: Path, server: str) -> tuple[float, float, int]:
    from app.cli import migrate

    await asyncio.to_thread(migrate, url)
    connection = await asyncpg.connect(plain_url(url))
    try:
        branch = await connection.fetchval(
            "INSERT INTO organizations (kind, name, region_code) "
            "VALUES ('bpjs_branch', 'BPJS bench', $1) RETURNING id",
            REGENCY,
        )
        office = await connection.fetchval(
            "INSERT INTO organizations (kind, name, region_code) "
            "VALUES ('kpu', 'KPU bench', $1) RETURNING id",
            REGENCY,
        )
        agreement = await connection.fetchval(
            "INSERT INTO agreements (number, bpjs_branch_id, counterpart_id, payer_id, "
            "election_code, region_code, signed_on, programs, status) VALUES "
            "('PKS/DB', $1, $2, $2, 'pilkada-2024', $3, '2024-11-11', '{JKK,JKM}', 'active') "
            "RETURNING id",
            branch,
            office,
            REGENCY,
        )
        cohort = await connection.fetchval(
            "INSERT INTO cohorts (agreement_id, role_code, election_code, planned_headcount, "
            "coverage_start, coverage_end) VALUES ($1, 'KPPS', 'pilkada-2024', 1, $2, $3) "
            "RETURNING id",
            agreement,
            COHORT_START,
            COHORT_END,
        )
        batch = await connection.fetchval(
            "INSERT INTO roster_batches (agreement_id, organization_id, format, mode, status) "
            "VALUES ($1, $2, 'csv', 'upsert', 'processing') RETURNING id",
            agreement,
            office,
        )
        records = await asyncio.to_thread(staged_records, path, cohort)
        await checkpoint(server)
        started = time.perf_counter()
        async with connection.transaction():
            await connection.execute(
                "CREATE TEMP TABLE stage (row_number integer, nik bigint, cohort_id uuid, "
                "role_code text, position text, full_name text, birth_date date, sex text, "
                "phone text, region_code text, tps text, coverage_start date, coverage_end date) "
                "ON COMMIT DROP"
            )
            await connection.copy_records_to_table("stage", records=records)
            copied = time.perf_counter()
            await connection.execute(
                "INSERT INTO registrations (nik, agreement_id, cohort_id, batch_id, role_code, "
                "position, full_name, birth_date, sex, phone, region_code, tps, coverage_start, "
                "coverage_end, status) "
                "SELECT nik, $1, cohort_id, $2, role_code, position, full_name, birth_date, sex, "
                "phone, region_code, tps, coverage_start, coverage_end, 'active' "
                "FROM stage ORDER BY nik",
                agreement,
                batch,
            )
        finished = time.perf_counter()
        count = await connection.fetchval("SELECT count(*) FROM registrations")
        return copied - started, finished - copied, int(count)
    finally:
        await connection.close()


async def villages_of(url: str) -> list[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT code FROM regions WHERE level = 'village' AND code LIKE $1 ORDER BY code",
            REGENCY + ".%",
        )
        return [row["code"] for row in rows]
    finally:
        await connection.close()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    """The CSV's rows as one sheet, as an office saves them: text stays text, dates are dates."""
    from openpyxl import Workbook

    def day(text: str) -> datetime.date:
        return datetime.datetime.strptime(text, "%d-%m-%Y").date()

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Daftar Petugas")
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        sheet.append(next(reader))
        for nik, name, born, sex, phone, jabatan, village, tps, start, end in reader:
            sheet.append(
                [nik, name, day(born), sex, phone, jabatan, village, tps, day(start), day(end)]
            )
    workbook.save(xlsx_path)


@dataclass
class Served:
    """A server of its own on a fresh database, with an agreement and its counterpart's key."""

    base: str
    process: subprocess.Popen[bytes]
    agreement_id: str
    headers: dict[str, str]


@contextmanager
def served_agreement(server: str, rows: int, prefix: str) -> Iterator[Served]:
    """`python -m app serve` on a new database named `prefix_...`, with an agreement planned
    for `rows` officers; stopped and dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(execute(server, f'CREATE DATABASE "{name}"'))
    admin_key = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(with_database(server, name), admin_key, port)
    try:
        wait_ready(base, process)
        admin = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=base, headers=admin, timeout=60) as client:
            agreement_id, headers = setup_through_api(client, rows)
        yield Served(base, process, agreement_id, headers)
    finally:
        stop(process)
        asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def measure_upload(server: str, rows: int, path: Path, content_type: str) -> dict[str, Any]:
    """One upload to a server of its own on a fresh database: seconds, CPU, peak RSS."""
    with served_agreement(server, rows, "perisai_bench_rosters") as served:
        base, process = served.base, served.process
        agreement_id, headers = served.agreement_id, served.headers
        asyncio.run(checkpoint(server))
        sampler = Sampler(process.pid)
        sampler.start()
        cpu_before = server_cpu(process.pid)
        started = time.perf_counter()
        batch = upload(base, agreement_id, headers, path, content_type)
        seconds = time.perf_counter() - started
        cpu = server_cpu(process.pid) - cpu_before
        sampler.stopped.set()
        sampler.join()
        assert batch["status"] == "completed", batch
        assert batch["counts"]["created"] == rows, batch["counts"]
        return {"seconds": seconds, "cpu": cpu, "rss": sampler.peak, "timings": batch["timings"]}


def main_xlsx(rows: int) -> None:
    server = server_url()
    with tempfile.TemporaryDirectory(prefix="bench-rosters-") as workdir:
        csv_path, xlsx_path = Path(workdir) / "roster.csv", Path(workdir) / "roster.xlsx"
        name = f"perisai_bench_rosters_{uuid.uuid4().hex[:8]}"
        asyncio.run(execute(server, f'CREATE DATABASE "{name}"'))
        try:
            from app.cli import migrate

            migrate(with_database(server, name))
            villages = asyncio.run(villages_of(with_database(server, name)))
        finally:
            asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        generate(csv_path, rows, villages)
        write_xlsx(csv_path, xlsx_path)
        print(
            f"roster: {rows:,} KPPS of Asahan, {csv_path.stat().st_size / 1e6:,.1f} MB CSV, "
            f"{xlsx_path.stat().st_size / 1e6:,.1f} MB XLSX"
        )
        measured = {
            "CSV": measure_upload(server, rows, csv_path, "text/csv"),
            "XLSX": measure_upload(server, rows, xlsx_path, XLSX_TYPE),
        }
    for label, m in measured.items():
        print(
            f"{label:5}  upload to completed batch: {m['seconds']:6.1f} s  "
            f"{rows / m['seconds']:9,.0f} rows/s  CPU {m['cpu']:.1f} s  "
            f"peak RSS {m['rss'] / 2**20:,.0f} MB"
        )
        print(f"       server timings: {m['timings']}")
    ratio = measured["XLSX"]["seconds"] / measured["CSV"]["seconds"]
    peak = max(m["rss"] for m in measured.values())
    print(f"ratio  XLSX / CSV = {ratio:.2f} (target <= 2)")
    print(
        f"target {'met' if ratio <= 2 else 'MISSED'}: XLSX within 2 x CSV; "
        f"{'met' if peak <= 500 * 2**20 else 'MISSED'}: peak RSS {peak / 2**20:,.0f} MB <= 500 MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args()
    if args.format == "xlsx":
        main_xlsx(args.rows or 100_000)
        return
    args.rows = args.rows or 1_000_000

    server = server_url()
    tag = uuid.uuid4().hex[:8]
    http_db, db_db = f"perisai_bench_rosters_{tag}", f"perisai_bench_rosters_db_{tag}"
    for name in (http_db, db_db):
        asyncio.run(execute(server, f'CREATE DATABASE "{name}"'))
    http_url, db_url = with_database(server, http_db), with_database(server, db_db)
    admin_key = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(http_url, admin_key, port)
    workdir = tempfile.TemporaryDirectory(prefix="bench-rosters-")
    try:
        wait_ready(base, process)
        path = Path(workdir.name) / "roster.csv"
        started = time.perf_counter()
        generate(path, args.rows, asyncio.run(villages_of(http_url)))
        size_mb = path.stat().st_size / 1e6
        print(
            f"roster: {args.rows:,} KPPS of Asahan, {size_mb:,.1f} MB CSV "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )
        admin = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=base, headers=admin, timeout=60) as client:
            agreement_id, headers = setup_through_api(client, args.rows)

        asyncio.run(checkpoint(server))
        sampler = Sampler(process.pid)
        sampler.start()
        cpu_before = server_cpu(process.pid)
        started = time.perf_counter()
        batch = upload(base, agreement_id, headers, path)
        http_seconds = time.perf_counter() - started
        cpu_seconds = server_cpu(process.pid) - cpu_before
        sampler.stopped.set()
        sampler.join()
        assert batch["status"] == "completed", batch
        assert batch["counts"]["created"] == args.rows, batch["counts"]
        http_rate = args.rows / http_seconds

        # Neither measurement pays for the other: the server and its database go (no autovacuum
        # of the first million rows during the second run), and dirty pages are flushed first.
        stop(process)
        asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{http_db}" WITH (FORCE)'))
        copy_seconds, insert_seconds, inserted = asyncio.run(database_rate(db_url, path, server))
        assert inserted == args.rows
        db_seconds = copy_seconds + insert_seconds
        db_rate = args.rows / db_seconds

        print(f"HTTP   upload to completed batch: {http_seconds:6.1f} s  {http_rate:9,.0f} rows/s")
        print(f"       server timings: {batch['timings']}")
        print(f"       server peak RSS: {sampler.peak / 2**20:,.0f} MB (process tree)")
        # CPU time barely moves with other load on the machine, unlike wall time: compare it.
        print(f"       server CPU: {cpu_seconds:.1f} s (Python: receive, parse, validate, COPY)")
        print(
            f"DB     COPY {copy_seconds:.1f} s + INSERT ... SELECT {insert_seconds:.1f} s = "
            f"{db_seconds:6.1f} s  {db_rate:9,.0f} rows/s"
        )
        print(f"ratio  HTTP / DB = {http_rate / db_rate:.2f} (target >= 0.5)")
        print(
            f"target {'met' if http_seconds <= 35 else 'MISSED'}: {http_seconds:.1f} s <= 35 s; "
            f"{'met' if sampler.peak <= 500 * 2**20 else 'MISSED'}: peak RSS <= 500 MB"
        )
    finally:
        stop(process)
        workdir.cleanup()
        for name in (http_db, db_db):
            asyncio.run(execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
