"""Benchmark the refusal of hostile workbooks: seconds to the 422 and the server's peak RSS.

    .venv/bin/python bench/bench_bombs.py

The bombs are tests/rosters/bombs.py's (built small). The server is `python -m app serve` on a
fresh database of the embedded PostgreSQL (or of $DATABASE_URL's server), as in
bench_rosters.py, whose helpers this uses. Each bomb goes alone, then three of the largest at
once while a coverage lookup is timed beside them. Targets: each refused as roster_malformed
in under 2 s, the server under 500 MB.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_rosters import (  # noqa: E402
    Sampler,
    served_agreement,
    server_url,
)
from tests.rosters import bombs  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post(base: str, url: str, headers: dict[str, str], body: bytes) -> tuple[float, int, str]:
    started = time.perf_counter()
    response = httpx.post(
        base + url, content=body, headers={**headers, "Content-Type": XLSX}, timeout=120
    )
    code = response.json().get("code", "") if response.status_code >= 400 else ""
    return time.perf_counter() - started, response.status_code, code


def main() -> None:
    with served_agreement(server_url(), 10, "perisai_bench_bombs") as served:
        base, process, headers = served.base, served.process, served.headers
        url = f"/v1/agreements/{served.agreement_id}/rosters"
        _refuse_each(base, process, url, headers)


def _refuse_each(
    base: str, process: subprocess.Popen[bytes], url: str, headers: dict[str, str]
) -> None:
    """Each hostile workbook alone, then three at once beside /readyz."""
    cases = {
        "sheet expanding to 2 GiB": bombs.expanding_sheet(),
        "the same, declaring 8 MiB": bombs.expanding_sheet(declared=8 << 20),
        "row 100,000,000": bombs.far_row(),
        "cells at A1 and XFD1048576": bombs.corner_cell(),
        "20,000 blank rows first": bombs.header_far_down(20_000),
        "zip that is not XLSX": bombs.zip_not_xlsx(),
        "XLSX that is not a zip": b"NIK;NAMA\r\n1209186702038780;Ani\r\n",
    }
    worst = 0.0
    for label, body in cases.items():
        sampler = Sampler(process.pid)
        sampler.start()
        seconds, status, code = post(base, url, headers, body)
        sampler.stopped.set()
        sampler.join()
        worst = max(worst, seconds)
        print(
            f"{label:28} {len(body) / 1e6:6.2f} MB  {status} {code:16} {seconds:6.3f} s  "
            f"peak RSS {sampler.peak / 2**20:,.0f} MB"
        )
    sampler = Sampler(process.pid)
    sampler.start()
    body = cases["sheet expanding to 2 GiB"]
    with ThreadPoolExecutor(4) as pool:
        started = time.perf_counter()
        three = [pool.submit(post, base, url, headers, body) for _ in range(3)]
        ready = httpx.get(f"{base}/readyz", timeout=30)
        beside = time.perf_counter() - started
        results = [f.result() for f in three]
    sampler.stopped.set()
    sampler.join()
    print(
        f"three at once: {max(r[0] for r in results):.3f} s for the slowest "
        f"({sorted({r[1] for r in results})}); /readyz beside them {beside:.3f} s "
        f"({ready.status_code}); peak RSS {sampler.peak / 2**20:,.0f} MB"
    )
    print(
        f"target {'met' if worst < 2 else 'MISSED'}: every bomb refused in under 2 s "
        f"(slowest {worst:.3f} s)"
    )


if __name__ == "__main__":
    main()
