"""The real server for tests that need one (a browser): `python -m app serve` in a subprocess
on a free port of 127.0.0.1, started, awaited and stopped by the roster benchmark's own code."""

from collections.abc import Iterator
from contextlib import contextmanager

from bench.bench_rosters import free_port, start_server, stop, wait_ready


@contextmanager
def real_server(database_url: str, admin_key: str) -> Iterator[str]:
    """The base URL of a server on `database_url` (already migrated) that takes `admin_key`."""
    port = free_port()
    server = start_server(database_url, admin_key, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        yield base
    finally:
        stop(server)
