"""Metrics read from the running app at each scrape: the process, its collector's pauses, the
connection pools, the background roster jobs and the read replica (the request metrics are
observability.Metrics)."""

import itertools
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from app.core import collector


class AppCollector(Collector):
    def __init__(self, app: Any) -> None:
        self.app = app
        self.pauses = collector.pauses()

    def collect(self) -> Iterator[Any]:
        state = self.app.state
        yield from _collector_pauses(self.pauses)
        yield from _pools(state)
        yield from _roster_jobs(state)
        yield from _replica(state)


def install(app: Any, registry: CollectorRegistry) -> None:
    ProcessCollector(registry=registry)  # process_cpu_seconds_total, resident memory, fds
    registry.register(AppCollector(app))


def _collector_pauses(pauses: collector.Pauses) -> Iterator[Any]:
    histogram = HistogramMetricFamily(
        "perisai_gc_pause_seconds",
        "How long each garbage collection held this process",
        labels=["generation"],
    )
    for generation in range(3):
        counts = itertools.accumulate(pauses.buckets[generation])
        histogram.add_metric(
            [str(generation)],
            [
                (_bound(le), count)
                for le, count in zip(collector.PAUSE_BUCKETS, counts, strict=True)
            ],
            pauses.seconds[generation],
        )
    yield histogram


def _bound(seconds: float) -> str:
    return "+Inf" if seconds == float("inf") else str(seconds)


def _pools(state: Any) -> Iterator[Any]:
    in_use = GaugeMetricFamily(
        "perisai_db_pool_connections",
        "Open connections by pool and state",
        labels=["pool", "state"],
    )
    limit = GaugeMetricFamily(
        "perisai_db_pool_max_connections", "The most connections a pool opens", labels=["pool"]
    )
    engine = getattr(state, "engine", None)
    if engine is not None:
        pool = engine.pool
        in_use.add_metric(["sqlalchemy", "in_use"], pool.checkedout())
        in_use.add_metric(["sqlalchemy", "idle"], pool.checkedin())
        limit.add_metric(["sqlalchemy"], pool.size() + max(getattr(pool, "_max_overflow", 0), 0))
    for name, asyncpg_pool in _asyncpg_pools(state):
        idle = asyncpg_pool.get_idle_size()
        in_use.add_metric([name, "in_use"], asyncpg_pool.get_size() - idle)
        in_use.add_metric([name, "idle"], idle)
        limit.add_metric([name], asyncpg_pool.get_max_size())
    yield in_use
    yield limit


def _asyncpg_pools(state: Any) -> Iterator[tuple[str, Any]]:
    coverage = getattr(state, "coverage", None)
    if coverage is not None and coverage.pool is not None:
        yield "coverage", coverage.pool
    replica = getattr(state, "read_replica", None)
    if replica is not None:
        yield "read_replica", replica.pool


def _roster_jobs(state: Any) -> Iterator[Any]:
    jobs = getattr(state, "roster_jobs", None)
    running = GaugeMetricFamily("perisai_roster_jobs_running", "Background roster batches running")
    running.add_metric([], len(jobs.tasks) if jobs is not None else 0)
    yield running
    if jobs is None:
        return
    stats = jobs.stats
    batches = CounterMetricFamily(
        "perisai_roster_jobs", "Background roster batches finished, by outcome", labels=["outcome"]
    )
    for outcome, count in stats.batches.items():
        batches.add_metric([outcome], count)
    yield batches
    rows = CounterMetricFamily("perisai_roster_job_rows", "Rows of completed background batches")
    rows.add_metric([], stats.rows)
    yield rows
    rate = GaugeMetricFamily(
        "perisai_roster_job_rows_per_second", "Rows per second of the last completed batch"
    )
    rate.add_metric([], stats.last_rows_per_second)
    yield rate


def _replica(state: Any) -> Iterator[Any]:
    replica = getattr(state, "read_replica", None)
    if replica is None:
        return
    lag = GaugeMetricFamily(
        "perisai_read_replica_lag_seconds", "How far the read replica is behind the primary"
    )
    lag.add_metric([], replica.lag_seconds if replica.lag_seconds is not None else float("nan"))
    yield lag
    usable = GaugeMetricFamily(
        "perisai_read_replica_in_use", "1 while read-heavy requests read on the replica"
    )
    usable.add_metric([], 1 if replica.usable else 0)
    yield usable
    reads = CounterMetricFamily(
        "perisai_reads", "Read-heavy requests by where they read", labels=["on"]
    )
    for where, count in replica.reads.items():
        reads.add_metric([where], count)
    yield reads
