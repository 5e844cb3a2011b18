"""A killed PostgreSQL, or a killed service, comes back whole: every start recovers, no batch
looks alive when it is dead, and Ctrl-C stops the embedded server whatever was killed before."""

import os
import signal
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.faults.conftest import FaultWorld, Serving, backends_of, wait_for

pytestmark = pytest.mark.faults

KILLS = 5


def push_roster(base: str, world: FaultWorld, key: str | None = None) -> httpx.Response:
    """The 100,000-row roster, sent again while the service answers 503 (the database coming
    back); any other answer is returned."""
    headers = {**world.counterpart, "Content-Type": "text/csv"}
    headers["Idempotency-Key"] = key or f"faults-{uuid.uuid4()}"
    body = world.roster.read_bytes()
    deadline = time.monotonic() + 30
    while True:
        response = httpx.post(
            f"{base}/v1/agreements/{world.agreement_id}/rosters",
            content=body,
            headers=headers,
            timeout=60,
        )
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def batch_of(base: str, world: FaultWorld, batch_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/roster-batches/{batch_id}", headers=world.counterpart)
    assert response.status_code == 200, response.text
    return dict(response.json())


def second_lane_open(world: FaultWorld) -> bool:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'perisai-roster'"
    return world.server.psql(sql).strip() == "1"


def until_mid_batch(base: str, world: FaultWorld, batch_id: str) -> None:
    """Waits until both connections are staging the batch's chunks (two of them copied)."""

    def mid_batch() -> bool:
        batch = batch_of(base, world, batch_id)
        assert batch["status"] in ("received", "processing"), batch
        return batch["processed_rows"] >= 40_000 and second_lane_open(world)

    assert wait_for(mid_batch, timeout=30, step=0.1)


def test_every_start_recovers_after_the_postmaster_is_killed_mid_batch(world: FaultWorld):
    """The second connection's staging tables once made every other crash recovery fail
    ("could not create file ...: File exists" at the end of redo)."""
    starts = []
    with Serving(world.url) as base:
        for _ in range(KILLS):
            accepted = push_roster(base, world)
            assert accepted.status_code == 202, accepted.text
            until_mid_batch(base, world, accepted.json()["id"])
            postmaster = world.server.postmaster_pid()
            assert postmaster is not None
            os.kill(postmaster, signal.SIGKILL)
            # Its backends outlive it, roll back and exit by themselves (as before a `make run`).
            wait_for(lambda: not backends_of(world.server), timeout=5)
            started = time.monotonic()
            world.server.start(attempts=1)
            starts.append(round(time.monotonic() - started, 2))
            assert world.server.running()
    print(f"recovered {KILLS} times, start seconds: {starts}")
    assert "File exists" not in world.server.log_tail(lines=10_000)
