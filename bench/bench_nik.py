"""Benchmark NIK validation: a million valid NIKs plus 5% corrupted ones, NIKs per second."""

from __future__ import annotations

import datetime
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.nik import PROVINCE_CODES, NikCheck, check_nik, check_niks

TODAY = datetime.date(2026, 11, 22)
VALID = 1_000_000
CORRUPT_SHARE = 0.05
DISTRICTS = 7_285
ROUNDS = 3


def districts(rng: random.Random) -> list[str]:
    """As many made-up district codes as the 2025 table has real ones, spread over provinces."""
    provinces = sorted(PROVINCE_CODES)
    return [
        f"{rng.choice(provinces)}{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"
        for _ in range(DISTRICTS)
    ]


def valid_nik(rng: random.Random, pool: list[str]) -> str:
    born = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(31_000))
    day = born.day + 40 * rng.randrange(2)
    serial = rng.randint(1, 9999)
    return f"{rng.choice(pool)}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def corrupt(rng: random.Random, nik: str) -> str:
    damage = rng.randrange(6)
    if damage == 0:
        return nik[:15]
    if damage == 1:
        return f"99{nik[2:]}"
    if damage == 2:
        return f"{nik[:4]}00{nik[6:]}"
    if damage == 3:
        return f"{nik[:6]}3102{nik[10:]}"
    if damage == 4:
        return f"{nik[:12]}0000"
    return f"{int(nik) / 1e15:.5f}E+15"


def workload(seed: int = 2026) -> list[str]:
    """The NIK column of one upload, built in row order as a CSV reader would allocate it."""
    rng = random.Random(seed)
    pool = districts(rng)
    total = int(VALID * (1 + CORRUPT_SHARE))
    corrupt_chance = CORRUPT_SHARE / (1 + CORRUPT_SHARE)
    return [
        corrupt(rng, nik) if rng.random() < corrupt_chance else nik
        for nik in (valid_nik(rng, pool) for _ in range(total))
    ]


def one_by_one(niks: list[str]) -> list[NikCheck]:
    return [check_nik(nik, today=TODAY) for nik in niks]


def batch(niks: list[str]) -> list[NikCheck]:
    return check_niks(niks, today=TODAY)


def best_rate(label: str, run: Callable[[list[str]], list[NikCheck]], niks: list[str]) -> None:
    wall = cpu = float("inf")
    for _ in range(ROUNDS):
        started, started_cpu = time.perf_counter(), time.process_time()
        results = run(niks)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    rejected = sum(not result.ok for result in results)
    # CPU time too: on a shared machine the wall clock also counts other processes' turns.
    print(
        f"{label:10} {len(niks):,} NIKs ({rejected:,} rejected) in {wall:.3f} s: "
        f"{len(niks) / wall:,.0f}/s (by CPU time {len(niks) / cpu:,.0f}/s)"
    )


def main() -> None:
    niks = workload()
    check_nik(niks[0], today=TODAY)  # builds the birth-date table outside the timing
    print(f"python {sys.version.split()[0]}, best of {ROUNDS}")
    best_rate("check_nik", one_by_one, niks)
    best_rate("check_niks", batch, niks)


if __name__ == "__main__":
    main()
