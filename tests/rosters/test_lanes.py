"""A large background roster on two connections: one batch, whole or not at all (two-phase)."""

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import asyncpg_url
from app.rosters import jobs, lanes, pipeline
from tests.rosters.helpers import (
    CSV,
    XLSX,
    Parties,
    committed_parties,
    csv_body,
    ended,
    finished,
    held_by_a_live_process,
    json_body,
    officer,
    problem_rows,
    push,
    scalar,
    xlsx_body,
)
from tests.seed import CohortSpec, OfficerSpec, seed_registrations

pytestmark = pytest.mark.concurrency

PLANNED = CohortSpec(planned_headcount=20)


@pytest.fixture
async def two_phase(engine: AsyncEngine) -> None:
    """The tests need a server that allows prepared transactions (the embedded one does)."""
    allowed = await scalar(engine, "SELECT current_setting('max_prepared_transactions')::int")
    if allowed < 1:
        pytest.skip("max_prepared_transactions is 0 on this server: rosters use one connection")


@pytest.fixture
def small_lanes(committing_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    committing_app.state.settings.sync_roster_max_rows = 5
    committing_app.state.settings.roster_parallel_min_rows = 10
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 4)


async def big_push(client: httpx.AsyncClient, p: Parties, rows: list[dict[str, Any]]) -> Any:
    response = await push(client, p, csv_body(rows), CSV)
    assert response.status_code == 202, response.text
    return await finished(client, response.headers["Location"], p.counterpart)


async def pushed_past_its_own_commit(
    client: httpx.AsyncClient, p: Parties
) -> tuple[str, dict[str, Any]]:
    """A 30-row roster on two connections, read once its own transaction has committed and
    the job has done what it does after its second commit: its location and the batch."""
    response = await push(client, p, csv_body([officer(n) for n in range(1, 31)]), CSV)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    await finished(client, location, p.counterpart, until=lambda b: b["applied"] or ended(b))
    await asyncio.sleep(0.2)
    return location, (await client.get(location, headers=p.counterpart)).json()


async def test_a_large_roster_is_settled_by_two_connections_as_one_batch(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
    small_lanes: None,
):
    p = await committed_parties(committing_app, committing_client, cohorts=(PLANNED,))
    kept = officer(100)
    assert (await push(committing_client, p, json_body([kept]))).status_code == 201
    # Chunks of 4 rows (the header is row 1): rows 2-5 to the first connection, 6-9 to the
    # second, and so on. Rows 3 and 7 give one NIK; row 8 updates an officer.
    rows = [officer(n) for n in range(1, 31)]
    rows[5] = {**officer(2), "full_name": "Orang Lain"}
    rows[6] = {**kept, "phone": "081299999999"}
    batch = await big_push(committing_client, p, rows)

    assert (batch["status"], batch["applied"]) == ("completed", True), batch
    assert batch["timings"]["connections"] == 2
    counts = {k: v for k, v in batch["counts"].items() if v}
    assert counts == {"created": 27, "updated": 1, "rejected": 2}
    problems = await problem_rows(committing_client, p, batch["id"])
    messages = {x["row_number"]: x["messages"] for x in problems}
    assert messages == {
        3: ["NIK yang sama juga ada di baris 7"],
        7: ["NIK yang sama juga ada di baris 3"],
    }
    active = await scalar(
        engine,
        "SELECT count(*) FROM registrations WHERE agreement_id = :a AND status = 'active'",
        a=p.agreement.id,
    )
    assert active == 28
    # Both connections' registrations count toward the headcount.
    (warning,) = batch["warnings"]
    assert (warning["planned_headcount"], warning["registered"]) == (20, 28)
    phone = await scalar(
        engine, "SELECT phone FROM registrations WHERE nik = :n", n=int(kept["nik"])
    )
    assert phone == "081299999999"
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 0


async def test_a_large_workbook_is_settled_by_two_connections_too(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
    small_lanes: None,
):
    p = await committed_parties(committing_app, committing_client, cohorts=(PLANNED,))
    rows = [officer(n) for n in range(1, 16)]
    response = await push(committing_client, p, xlsx_body(rows), XLSX)
    assert response.status_code == 202, response.text
    assert response.json()["total_rows"] == 15  # the sheet's height, before it is processed
    batch = await finished(committing_client, response.headers["Location"], p.counterpart)
    assert (batch["status"], batch["timings"]["connections"]) == ("completed", 2), batch
    assert batch["counts"]["created"] == 15
    active = await scalar(
        engine, "SELECT count(*) FROM registrations WHERE agreement_id = :a", a=p.agreement.id
    )
    assert active == 15


async def test_a_batch_that_fails_on_two_connections_leaves_no_rows(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
    small_lanes: None,
    monkeypatch: pytest.MonkeyPatch,
):
    p = await committed_parties(committing_app, committing_client)

    async def crash(self: lanes.SecondLane) -> None:
        raise RuntimeError("the second connection is gone")

    monkeypatch.setattr(lanes.SecondLane, "prepare", crash)
    batch = await big_push(committing_client, p, [officer(n) for n in range(1, 31)])
    assert (batch["status"], batch["applied"]) == ("failed", False)
    assert batch["error"]["code"] == "internal_error"
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 0
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 0


async def test_the_sweep_commits_the_prepared_half_of_an_applied_batch_only(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
):
    """What a process killed between the two commits leaves: a prepared transaction."""
    p = await committed_parties(committing_app, committing_client)
    async with engine.begin() as connection:
        batches = (
            await connection.execute(
                text(
                    "INSERT INTO roster_batches (agreement_id, format, mode, status, applied) "
                    "SELECT :a, 'csv', 'upsert', s, s = 'completed' "
                    "FROM unnest(ARRAY['completed', 'processing', 'processing']) s RETURNING id"
                ),
                {"a": p.agreement.id},
            )
        ).scalars()
        applied, interrupted, running = list(batches)
    url = asyncpg_url(engine)
    for batch_id in (applied, interrupted, running):
        await _prepare_a_problem_row(url, batch_id)
    # `running`'s process is alive: it holds its batch's lock.
    async with held_by_a_live_process(engine, running):
        await jobs.sweep(committing_app.state.sessionmaker)
    kept = await scalar(engine, "SELECT array_agg(batch_id::text) FROM roster_batch_rows")
    assert kept == [str(applied)]
    left = await scalar(engine, "SELECT array_agg(gid) FROM pg_prepared_xacts")
    assert left == [lanes.gid_of(running)]
    await jobs.sweep(committing_app.state.sessionmaker)
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 0


async def _prepare_a_problem_row(url: str, batch_id: uuid.UUID) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("BEGIN")
        await connection.execute(
            "INSERT INTO roster_batch_rows (batch_id, row_number, outcome, codes, messages, "
            "original) VALUES ($1, 2, 'rejected', '{x}', '{x}', '{}')",
            batch_id,
        )
        await connection.execute(f"PREPARE TRANSACTION '{lanes.gid_of(batch_id)}'")
    finally:
        await asyncio.shield(connection.close())


async def test_a_process_killed_between_the_two_commits_loses_nothing(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
    small_lanes: None,
    monkeypatch: pytest.MonkeyPatch,
):
    """The batch's own transaction commits, the second one stays prepared (as when the process
    dies right then): the batch reads processing, applied, until the sweep has committed the
    second half; then it is completed, with every row, and announced once."""
    p = await committed_parties(committing_app, committing_client)

    async def killed(self: lanes.SecondLane) -> None:
        self.batch_committed = True

    monkeypatch.setattr(lanes.SecondLane, "commit", killed)
    location, batch = await pushed_past_its_own_commit(committing_client, p)
    assert (batch["status"], batch["applied"], batch["counts"]["created"]) == (
        "processing",
        True,
        30,
    )
    registered = "SELECT count(*) FROM registrations WHERE batch_id = :b"
    assert await scalar(engine, registered, b=batch["id"]) == 16  # rows 2-5, 10-13, ...
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 1

    await jobs.sweep(committing_app.state.sessionmaker)
    assert await scalar(engine, registered, b=batch["id"]) == 30
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 0
    batch = (await committing_client.get(location, headers=p.counterpart)).json()
    assert (batch["status"], batch["applied"]) == ("completed", True)
    announced = (
        "SELECT count(*) FROM events WHERE type = 'roster_batch.completed' AND agreement_id = :a"
    )
    assert await scalar(engine, announced, a=p.agreement.id) == 1
    await jobs.sweep(committing_app.state.sessionmaker)
    assert await scalar(engine, announced, a=p.agreement.id) == 1
    # Applied is completed, or processing while the second half commits: never failed.
    with pytest.raises(IntegrityError, match="applied_completed"):
        await scalar(
            engine, "UPDATE roster_batches SET status = 'failed' WHERE id = :b", b=batch["id"]
        )


async def test_a_batch_stopped_after_its_own_commit_is_completed_not_failed(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
    small_lanes: None,
    monkeypatch: pytest.MonkeyPatch,
):
    """A shutdown cancelling the job between its two commits: the batch is applied, so it is
    not failed (which would roll back the prepared half); the sweep completes it whole."""
    p = await committed_parties(committing_app, committing_client)

    async def cancelled(self: lanes.SecondLane) -> None:
        self.batch_committed = True
        raise asyncio.CancelledError

    monkeypatch.setattr(lanes.SecondLane, "commit", cancelled)
    location, batch = await pushed_past_its_own_commit(committing_client, p)
    assert (batch["status"], batch["applied"], batch["error"]) == ("processing", True, None)

    await jobs.sweep(committing_app.state.sessionmaker)
    batch = (await committing_client.get(location, headers=p.counterpart)).json()
    assert (batch["status"], batch["applied"]) == ("completed", True)
    registered = "SELECT count(*) FROM registrations WHERE batch_id = :b"
    assert await scalar(engine, registered, b=batch["id"]) == 30


async def test_a_second_lane_whose_connection_died_closes_quietly_and_is_swept(
    committing_app: FastAPI, engine: AsyncEngine, two_phase: None
):
    """close() runs shielded in the job's `finally`, where an error would go unretrieved."""
    sessionmaker = committing_app.state.sessionmaker
    batch_id = uuid.uuid4()
    lane = await lanes.SecondLane.open(sessionmaker, batch_id, chunks=3)
    assert lane is not None
    tables = "SELECT count(*) FROM pg_tables WHERE tablename LIKE :p"
    pattern = f"roster_lane_{batch_id.hex}%"
    # Made and committed before its transaction: visible to every other connection.
    assert await scalar(engine, tables, p=pattern) == 7
    lane.connection.terminate()
    await lane.close()  # must not raise

    assert await lanes.drop_orphan_tables(sessionmaker) == [batch_id]
    assert await scalar(engine, tables, p=pattern) == 0


async def test_held_rows_of_the_second_connection_are_announced(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    two_phase: None,
    small_lanes: None,
):
    """Its transaction is prepared, which NOTIFY would forbid: its events and deliveries land
    at COMMIT PREPARED, and it wakes the dispatchers then."""
    p = await committed_parties(committing_app, committing_client, cohorts=(PLANNED,))
    other = await committed_parties(committing_app, committing_client, kind="bawaslu")
    # Row 7 of the file (the second connection's chunk) is a KPPS already a Bawaslu officer.
    async with committing_app.state.sessionmaker() as session:
        await seed_registrations(
            session,
            agreement=other.agreement,
            role="KPPS",
            officers=[OfficerSpec(nik=int(officer(6)["nik"]))],
        )
        await session.commit()
    hook = await committing_client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["registration.held"]},
        headers=p.counterpart,
    )
    assert hook.status_code == 201, hook.text
    batch = await big_push(committing_client, p, [officer(n) for n in range(1, 31)])
    assert (batch["status"], batch["timings"]["connections"]) == ("completed", 2), batch
    assert batch["counts"]["held"] == 1
    held = await scalar(
        engine,
        "SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
        "WHERE e.type = 'registration.held' AND e.agreement_id = :a",
        a=p.agreement.id,
    )
    assert held == 1
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 0
