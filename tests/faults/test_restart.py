"""A killed PostgreSQL, or a killed service, comes back whole: every start recovers, no batch
looks alive when it is dead, and Ctrl-C stops the embedded server whatever was killed before."""

import os
import signal
import time
import uuid

import httpx
import pytest

from app.rosters.repository.batches import batch_lock
from tests.faults.conftest import (
    FaultWorld,
    Serving,
    backends_of,
    batch_of,
    push_roster,
    until_mid_batch,
    wait_for,
)

pytestmark = pytest.mark.faults

KILLS = 5


def test_every_start_recovers_after_the_postmaster_is_killed_mid_batch(world: FaultWorld):
    """The second connection's staging tables once made every other crash recovery fail
    ("could not create file ...: File exists" at the end of redo)."""
    starts = []
    for _ in range(KILLS):
        accepted = push_roster(world.base, world)
        assert accepted.status_code == 202, accepted.text
        until_mid_batch(world.base, world, accepted.json()["id"], world.service)
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


def batch_lock_free(world: FaultWorld, batch_id: str) -> bool:
    """Whether no connection holds the batch's lock (its process's backend has gone)."""
    key = f"hashtextextended('{batch_lock(uuid.UUID(batch_id))}', 0)"
    sql = f"SELECT pg_try_advisory_lock({key}) AND pg_advisory_unlock({key})"
    return world.server.psql(sql).strip() == "t"


def test_a_batch_of_a_killed_service_is_settled_at_start_up_and_a_retry_starts_anew(
    world: FaultWorld,
):
    key = f"faults-dead-{uuid.uuid4()}"
    dead = Serving(world.url)
    with dead as base:
        accepted = push_roster(base, world, key)
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["id"]
        until_mid_batch(base, world, batch_id, dead)
        dead.kill()
    # Its backends roll back once they see it gone (one may finish a statement first).
    assert wait_for(lambda: batch_lock_free(world, batch_id), timeout=15, step=0.2)

    with Serving(world.url) as base:  # ready: its start-up sweep has run
        batch = batch_of(base, world, batch_id)
        assert (batch["status"], batch["error"]["code"]) == ("failed", "interrupted"), batch
        its_tables = f"roster_lane_{uuid.UUID(batch_id).hex}%"
        lane_tables = world.server.psql(
            f"SELECT count(*) FROM pg_tables WHERE tablename LIKE '{its_tables}'"
        )
        assert lane_tables.strip() == "0"
        retry = push_roster(base, world, key)
        assert retry.status_code == 202, retry.text
        assert retry.json()["id"] != batch_id
        assert "Idempotent-Replayed" not in retry.headers


def test_the_service_brings_its_postgresql_back_and_ctrl_c_stops_it_after_a_kill(
    world: FaultWorld,
):
    """In the default (embedded) mode the service owns its PostgreSQL: it starts it again when
    the postmaster dies, and the last live run to stop stops it, even after a run killed -9."""
    data_dir = {"DATA_DIR": str(world.server.data_dir)}
    killed_run = Serving(None, **data_dir)
    with killed_run as base:
        killed = world.server.postmaster_pid()
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()

        def back() -> bool:
            postmaster = world.server.postmaster_pid()
            if postmaster in (None, killed):
                return False
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

        assert wait_for(back, timeout=30, step=0.1)
        print(f"the service's PostgreSQL was back in {time.monotonic() - started:.2f} s")
        killed_run.kill()
    assert world.server.running()  # nobody stops it on a kill -9

    last = Serving(None, **data_dir)
    last.__enter__()
    assert last.process is not None
    last.process.send_signal(signal.SIGINT)
    last.process.wait(timeout=60)
    last.__exit__(None, None, None)
    assert wait_for(lambda: world.server.postmaster_pid() is None, timeout=30)
    assert not backends_of(world.server)
