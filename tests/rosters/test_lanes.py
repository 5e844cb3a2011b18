"""A large background roster on two connections: one batch, whole or not at all (two-phase)."""

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import asyncpg_url
from app.rosters import jobs, lanes, pipeline
from tests.rosters.helpers import (
    CSV,
    Parties,
    committed_parties,
    csv_body,
    finished,
    held_by_a_live_process,
    json_body,
    officer,
    problem_rows,
    push,
    scalar,
)
from tests.seed import CohortSpec

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
    dies right then): the second half shows once the sweep has committed it."""
    p = await committed_parties(committing_app, committing_client)

    async def killed(self: lanes.SecondLane) -> None:
        self.batch_committed = True

    monkeypatch.setattr(lanes.SecondLane, "commit", killed)
    batch = await big_push(committing_client, p, [officer(n) for n in range(1, 31)])
    assert (batch["status"], batch["counts"]["created"]) == ("completed", 30)
    registered = "SELECT count(*) FROM registrations WHERE batch_id = :b"
    assert await scalar(engine, registered, b=batch["id"]) == 16  # rows 2-5, 10-13, ...
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 1

    await jobs.sweep(committing_app.state.sessionmaker)
    assert await scalar(engine, registered, b=batch["id"]) == 30
    assert await scalar(engine, "SELECT count(*) FROM pg_prepared_xacts") == 0


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
