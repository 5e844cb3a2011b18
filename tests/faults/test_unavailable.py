"""While the database stops and starts under load, every answer is a real one: 503
`database_unavailable` with Retry-After while it is away, never a 500 or a dropped connection,
and the first 2xx within a second of it being back."""

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.faults.conftest import FaultWorld
from tests.seed import make_nik

pytestmark = pytest.mark.faults

CLIENTS = 6
MAX_REQUESTS = 4_000
UP_BEFORE, DOWN_FOR, UP_AFTER = 0.8, 1.0, 2.0  # seconds


@dataclass
class Figures:
    statuses: Counter[int] = field(default_factory=Counter)
    dropped: int = 0
    without_retry_after: int = 0
    back: float | None = None
    first_ok_after_back: float | None = None
    requests: int = 0

    def record(self, response: httpx.Response, ended: float) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503:
            assert response.json()["code"] == "database_unavailable", response.text
            if response.headers.get("Retry-After") != "2":
                self.without_retry_after += 1
        ok = response.status_code < 300
        if ok and self.back is not None and self.first_ok_after_back is None:
            self.first_ok_after_back = ended - self.back


def requests_of(world: FaultWorld, n: int) -> tuple[str, str, dict[str, str], object]:
    """A coverage lookup (the lookup pool), a page of registrations (a session), an
    organization created (a commit), in turn."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    if n % 3 == 0:
        return "GET", f"/v1/coverage/{make_nik(serial=n % 9000 + 1)}", admin, None
    if n % 3 == 1:
        url = f"/v1/registrations?agreement_id={world.agreement_id}&limit=5"
        return "GET", url, world.counterpart, None
    body = {"kind": "kpu", "name": f"KPU {uuid.uuid4().hex[:8]}", "region_code": "12.09"}
    return "POST", "/v1/organizations", admin, body


async def outage_under_load(base: str, world: FaultWorld, mode: str) -> Figures:
    figures = Figures()
    done = asyncio.Event()

    async def client_loop(client: httpx.AsyncClient, first: int) -> None:
        n = first
        while not done.is_set() and figures.requests < MAX_REQUESTS:
            figures.requests += 1
            method, url, headers, body = requests_of(world, n)
            n += CLIENTS
            try:
                response = await client.request(method, url, headers=headers, json=body)
            except httpx.TransportError:
                figures.dropped += 1
                continue
            figures.record(response, time.monotonic())

    async def outage() -> None:
        await asyncio.sleep(UP_BEFORE)
        await asyncio.to_thread(world.server.stop, mode)
        await asyncio.sleep(DOWN_FOR)
        await asyncio.to_thread(world.server.start, 1)
        figures.back = time.monotonic()
        await asyncio.sleep(UP_AFTER)
        done.set()

    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        await asyncio.gather(outage(), *(client_loop(client, i) for i in range(CLIENTS)))
    return figures


async def test_the_database_stopped_and_started_under_load(world: FaultWorld):
    for mode in ("fast", "immediate"):
        figures = await outage_under_load(world.base, world, mode)
        print(
            f"pg_ctl stop -m {mode}: {figures.requests} requests, "
            f"statuses {dict(figures.statuses)}, {figures.dropped} dropped, "
            f"first 2xx {figures.first_ok_after_back} s after it was back"
        )
        server_errors = sum(n for status, n in figures.statuses.items() if status >= 500)
        assert server_errors == figures.statuses[503], world.service.errors()  # no 500, 502
        assert figures.statuses[503] > 0, mode  # the outage was seen
        assert figures.dropped == 0, world.service.errors()
        assert figures.without_retry_after == 0, mode
        assert figures.first_ok_after_back is not None, mode
        assert figures.first_ok_after_back <= 1.0, mode
