"""Large rosters in the background: 202, progress, the result; failures and interruptions."""

import asyncio
import gc
import hashlib
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.rosters import jobs, options, pipeline, service
from app.rosters.parsing import RosterFormat
from app.rosters.repository import apply
from tests.rosters.helpers import (
    CSV,
    committed_parties,
    csv_body,
    finished,
    held_by_a_live_process,
    json_body,
    officer,
    push,
    scalar,
)

pytestmark = pytest.mark.concurrency


async def test_a_large_roster_answers_202_and_runs_in_the_background(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    committing_app.state.settings.sync_roster_max_rows = 5
    p = await committed_parties(committing_app, committing_client)
    rows = [officer(n) for n in range(1, 13)] + [officer(99, tps="")]
    headers = {**p.counterpart, "Idempotency-Key": "big-one"}
    response = await push(committing_client, p, csv_body(rows), CSV, headers=headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    location = response.headers["Location"]
    assert location == f"/v1/roster-batches/{accepted['id']}"
    assert accepted["status"] == "received" and accepted["total_rows"] >= 6

    batch = await finished(committing_client, location, p.counterpart)
    assert batch["status"] == "completed" and batch["applied"] is True
    assert batch["total_rows"] == batch["processed_rows"] == 13
    assert (batch["counts"]["created"], batch["counts"]["rejected"]) == (12, 1)
    assert batch["started_at"] is not None and batch["finished_at"] is not None
    registered = await scalar(
        engine, "SELECT count(*) FROM registrations WHERE batch_id = :b", b=accepted["id"]
    )
    assert registered == 12
    errors = await committing_client.get(f"{location}/errors", headers=p.counterpart)
    assert [x["codes"] for x in errors.json()["items"]] == [["tps_missing"]]

    # The same key and body: the same batch, answered as the first time, nothing applied twice.
    replay = await push(committing_client, p, csv_body(rows), CSV, headers=headers)
    assert replay.status_code == 202 and replay.json()["id"] == accepted["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    await asyncio.sleep(0.2)
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 12
    assert await scalar(engine, "SELECT count(*) FROM roster_batches") == 1


async def test_a_refused_atomic_roster_in_the_background_says_so(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    committing_app.state.settings.sync_roster_max_rows = 2
    p = await committed_parties(committing_app, committing_client)
    body = json_body([officer(1), officer(2), officer(3, birth_date="")], atomic=True)
    response = await push(committing_client, p, body)
    assert response.status_code == 202
    batch = await finished(committing_client, response.headers["Location"], p.counterpart)
    assert (batch["status"], batch["applied"]) == ("failed", False)
    assert batch["error"]["code"] == "roster_rejected"
    assert batch["counts"]["rejected"] == 1
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 0


async def test_a_batch_that_fails_midway_leaves_no_rows(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
):
    committing_app.state.settings.sync_roster_max_rows = 2
    p = await committed_parties(committing_app, committing_client)
    original = apply.store_problem_rows

    async def crash(*args: Any, **kwargs: Any) -> None:
        # After the registrations went in, before the batch completes.
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(apply, "store_problem_rows", crash)
    response = await push(committing_client, p, json_body([officer(n) for n in range(1, 5)]))
    assert response.status_code == 202
    batch = await finished(committing_client, response.headers["Location"], p.counterpart)
    assert (batch["status"], batch["applied"]) == ("failed", False)
    assert batch["error"]["code"] == "internal_error"
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 0
    assert await scalar(engine, "SELECT count(*) FROM roster_batch_rows") == 0
    monkeypatch.setattr(apply, "store_problem_rows", original)


async def test_a_file_broken_past_the_first_rows_fails_its_batch_and_frees_the_collector(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    """Read while staged: the parse error surfaces in the background, under the collector
    pause of the staging (app.core.collector), which must end with it."""
    committing_app.state.settings.sync_roster_max_rows = 2
    p = await committed_parties(committing_app, committing_client)
    # Past the first blocks that counting the rows decodes (the 202 needs the count).
    body = csv_body([officer(n) for n in range(1, 201)]) + b"\xff\xfe;not;text\r\n"
    assert len(body) > 8192
    response = await push(committing_client, p, body, CSV)
    assert response.status_code == 202, response.text
    batch = await finished(committing_client, response.headers["Location"], p.counterpart)
    assert (batch["status"], batch["applied"]) == ("failed", False)
    assert batch["error"]["code"] == "roster_malformed"
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 0
    assert gc.isenabled()


async def test_interrupted_batches_are_marked_failed_and_their_key_reusable(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    """What a process killed mid-batch leaves: `processing` rows that no process holds."""
    p = await committed_parties(committing_app, committing_client)
    body = json_body([officer(1)])
    params = options.RosterParams("application/json", None, None, None, None, "dead")
    fingerprint = service._fingerprint(
        p.agreement.id, params, RosterFormat.JSON, hashlib.sha256(body).hexdigest()
    )
    async with engine.begin() as connection:
        ids: dict[str, Any] = {
            key: id_
            for key, id_ in (
                await connection.execute(
                    text(
                        "INSERT INTO roster_batches (agreement_id, organization_id, format, "
                        "mode, status, idempotency_key, request_hash, response_status, "
                        "created_at) "
                        "SELECT :a, :o, 'json', 'upsert', 'processing', k, :h, 202, "
                        "now() - interval '5 minutes' FROM unnest(ARRAY['dead', 'alive']) k "
                        "RETURNING idempotency_key, id"
                    ),
                    {"a": p.agreement.id, "o": p.counterpart_id, "h": fingerprint},
                )
            ).all()
        }
    # A live process holds its batch's lock for as long as it works on it.
    async with held_by_a_live_process(engine, ids["alive"]):
        assert await jobs.sweep(committing_app.state.sessionmaker) == [ids["dead"]]
    read = await committing_client.get(f"/v1/roster-batches/{ids['dead']}", headers=p.counterpart)
    assert read.json()["status"] == "failed"
    assert read.json()["error"]["code"] == "interrupted"
    assert await jobs.sweep(committing_app.state.sessionmaker) == [ids["alive"]]

    # Nothing of an interrupted batch was applied: the same key and body start it again.
    retry = await push(
        committing_client, p, body, headers={**p.counterpart, "Idempotency-Key": "dead"}
    )
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] not in {str(i) for i in ids.values()}
    assert retry.json()["idempotency_key"] == "dead"
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 1


async def test_the_application_start_settles_dead_batches_before_the_first_request(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    """A batch says `processing` only after its process took its lock: one whose lock nobody
    holds is dead, however young. A young `received` one may still be on its way to a task."""
    p = await committed_parties(committing_app, committing_client)
    async with engine.begin() as connection:
        rows = (
            await connection.execute(
                text(
                    "INSERT INTO roster_batches (agreement_id, format, mode, status, "
                    "created_at) SELECT :a, 'csv', 'upsert', s, now() - interval '1 second' "
                    "FROM unnest(ARRAY['processing', 'received']) s RETURNING status, id"
                ),
                {"a": p.agreement.id},
            )
        ).all()
    ids: dict[str, Any] = {status: id_ for status, id_ in rows}
    # The rosters router's lifespan is merged into the application's.
    async with committing_app.router.lifespan_context(committing_app):
        status = "SELECT status || ' ' || COALESCE(error, '') FROM roster_batches WHERE id = :i"
        assert await scalar(engine, status, i=ids["processing"]) == "failed interrupted"
        assert await scalar(engine, status, i=ids["received"]) == "received "


async def test_stopping_the_application_mid_batch_leaves_it_failed_interrupted(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
):
    committing_app.state.settings.sync_roster_max_rows = 2
    p = await committed_parties(committing_app, committing_client)
    original = pipeline.process
    reached = asyncio.Event()

    async def stuck(*args: Any, **kwargs: Any) -> pipeline.Result:
        await original(*args, **kwargs)  # the registrations are in, not yet committed
        reached.set()
        await asyncio.Event().wait()
        raise AssertionError("never")

    monkeypatch.setattr(pipeline, "process", stuck)
    response = await push(committing_client, p, json_body([officer(n) for n in range(1, 5)]))
    assert response.status_code == 202
    await asyncio.wait_for(reached.wait(), 10)
    processing = await committing_client.get(response.headers["Location"], headers=p.counterpart)
    assert processing.json()["status"] == "processing"
    assert processing.json()["started_at"] is not None

    await jobs.jobs_of(committing_app).stop()  # what the lifespan does on shutdown
    batch = await finished(committing_client, response.headers["Location"], p.counterpart)
    assert (batch["status"], batch["error"]["code"]) == ("failed", "interrupted")
    assert await scalar(engine, "SELECT count(*) FROM registrations") == 0
