"""A background roster runs in a process of the server's own (app/core/workers.py), at a
lower priority: one killed alone fails its batch at once and the next roster gets a new one;
the server killed takes its roster process with it."""

import signal

import httpx
import psutil
import pytest

from app.core import workers
from app.rosters.work import ROSTER_PROCESS_NAME
from tests.faults.conftest import (
    FaultWorld,
    Serving,
    batch_of,
    push_roster,
    until_mid_batch,
    wait_for,
)
from tests.live_server import worker_processes

pytestmark = pytest.mark.faults


def roster_processes_of(service: Serving) -> list[psutil.Process]:
    assert service.process is not None
    return worker_processes(service.process.pid, ROSTER_PROCESS_NAME)


def mid_batch_in_a_roster_process(
    world: FaultWorld, base: str, service: Serving
) -> tuple[str, psutil.Process]:
    accepted = push_roster(base, world)
    assert accepted.status_code == 202, accepted.text
    batch_id = accepted.json()["id"]
    until_mid_batch(base, world, batch_id, service)
    found = roster_processes_of(service)
    assert len(found) == 1, found
    return batch_id, found[0]


def test_a_roster_process_killed_mid_batch_fails_its_batch_and_the_next_gets_a_new_one(
    world: FaultWorld,
):
    service = Serving(world.url)
    with service as base:
        batch_id, worker = mid_batch_in_a_roster_process(world, base, service)
        assert worker.nice() == workers.NICE  # the server's own Python runs first
        worker.send_signal(signal.SIGKILL)

        def interrupted() -> bool:
            return bool(batch_of(base, world, batch_id)["status"] == "failed")

        assert wait_for(interrupted, timeout=15)
        assert batch_of(base, world, batch_id)["error"]["code"] == "interrupted"

        again = push_roster(base, world)
        assert again.status_code == 202, again.text

        def completed() -> bool:
            return bool(batch_of(base, world, again.json()["id"])["status"] == "completed")

        assert wait_for(completed, timeout=120, step=0.2)
        replaced = roster_processes_of(service)
        assert len(replaced) == 1 and replaced[0].pid != worker.pid
        assert any("a roster process died" in line for line in service.errors())


def test_a_killed_server_takes_its_roster_process_with_it(world: FaultWorld):
    service = Serving(world.url)
    with service as base:
        batch_id, worker = mid_batch_in_a_roster_process(world, base, service)
        service.kill()
        # The package's service reads the batch (its pool may have met an earlier test's restart).
        assert wait_for(lambda: httpx.get(f"{world.base}/readyz").status_code == 200, 10)
        assert wait_for(lambda: not worker.is_running() or worker.status() == "zombie", 5)
        # Nothing goes on working on the batch: its rows stop where they were.
        processed = batch_of(world.base, world, batch_id)["processed_rows"]
        assert batch_of(world.base, world, batch_id)["status"] == "processing"
        assert not wait_for(
            lambda: batch_of(world.base, world, batch_id)["processed_rows"] != processed, 2
        )
