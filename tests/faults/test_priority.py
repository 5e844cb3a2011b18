"""Bulk work's database backends run behind the requests' (BULK_NICE, 10 by default): a
background roster's, and none of them stays reniced in the pool once its batch is done; and a
batch check's, on a pool of their own, while single lookups run as before."""

import httpx
import psutil
import pytest

from tests.conftest import ADMIN_KEY
from tests.faults.conftest import FaultWorld, batch_of, push_roster, until_mid_batch, wait_for

pytestmark = pytest.mark.faults

BACKENDS = (
    "SELECT pid, application_name FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
)


def backends_by_nice(world: FaultWorld) -> dict[int, list[str]]:
    """The server's client backends (but the asking one), by nice value: their names."""
    found: dict[int, list[str]] = {}
    for line in world.server.psql(BACKENDS).splitlines():
        pid, _, name = line.partition("|")
        try:
            nice = psutil.Process(int(pid)).nice()
        except psutil.NoSuchProcess:
            continue
        found.setdefault(nice, []).append(name)
    return found


def test_a_background_rosters_backends_run_behind_the_requests(world: FaultWorld) -> None:
    accepted = push_roster(world.base, world)
    assert accepted.status_code == 202, accepted.text
    batch_id = accepted.json()["id"]
    until_mid_batch(world.base, world, batch_id, world.service)

    during = backends_by_nice(world)
    assert sorted(during.get(10, [])) == ["perisai", "perisai-roster"], during
    assert during.get(0), during  # the requests' pool, asking for the batch, as it was

    assert wait_for(lambda: batch_of(world.base, world, batch_id)["status"] == "completed", 120)
    # The batch's connection closes just after its commit.
    assert wait_for(lambda: 10 not in backends_by_nice(world), timeout=10), backends_by_nice(world)


def test_batch_checks_read_on_reniced_connections_of_their_own(world: FaultWorld) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = {"niks": ["1209185705900001", "1209185705900002"]}
    batch = httpx.post(f"{world.base}/v1/coverage/checks", json=body, headers=admin)
    assert batch.status_code == 200, batch.text
    single = httpx.get(f"{world.base}/v1/coverage/1209185705900001", headers=admin)
    assert single.status_code == 200, single.text

    found = backends_by_nice(world)
    assert "perisai-coverage-bulk" in found.get(10, []), found
    assert "perisai-coverage" in found.get(0, []) and "perisai-coverage" not in found.get(10, [])
