"""While `python -m app serve` runs on the embedded PostgreSQL, it starts it again when it dies.

The default mode owns its database server, so nobody else would: a thread looks at the
postmaster every half second and, when it is gone, starts the server again (embedded.py kills
what the dead one left and retries a start that fails in crash recovery). Requests meanwhile
answer 503 `database_unavailable` (core/errors.py).
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.embedded import EmbeddedServer, embedded_server
from app.core.settings import Settings

logger = logging.getLogger("perisai.embedded")

CHECK_SECONDS = 0.5


class Supervisor(threading.Thread):
    def __init__(self, server: EmbeddedServer, interval: float = CHECK_SECONDS) -> None:
        super().__init__(name="embedded PostgreSQL supervisor", daemon=True)
        self.server = server
        self.interval = interval
        self.stopped = threading.Event()
        self.restarts = 0

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            if self.server.stopping.is_set():
                return
            if self.server.postmaster_pid() is None:
                self._restart()

    def _restart(self) -> None:
        logger.warning("the embedded PostgreSQL stopped; starting it again")
        started = time.monotonic()
        try:
            self.server.start()
        except Exception as exc:  # the next check tries again
            logger.error(
                "the embedded PostgreSQL could not be started again",
                extra={"fields": {"error": type(exc).__name__, "log": self.server.log_tail()}},
            )
            return
        self.restarts += 1
        logger.warning(
            "the embedded PostgreSQL is back",
            extra={"fields": {"seconds": round(time.monotonic() - started, 3)}},
        )

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)


@contextmanager
def supervised(settings: Settings) -> Iterator[None]:
    """Supervises the embedded server for as long as the block runs (nothing with DATABASE_URL)."""
    if settings.database_url:
        yield
        return
    supervisor = Supervisor(embedded_server(settings.data_dir))
    supervisor.start()
    try:
        yield
    finally:
        supervisor.stop()
