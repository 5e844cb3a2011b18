"""Who may push and read, bad requests, size limits, and Idempotency-Key."""

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Registration, RosterBatch
from tests.conftest import app_on, asgi_client
from tests.factories import ADMIN, create_key, organization_with_key
from tests.rosters.helpers import CSV, XLSX, csv_body, json_body, officer, parties, push


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_scoping(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    batch_id = (await push(client, p, json_body([officer(1)]))).json()["id"]
    batch_url = f"/v1/roster-batches/{batch_id}"

    # Another KPU office, with every scope: the agreement and its batch do not exist for it.
    _, other = await organization_with_key(client, "kpu", "12.09")
    response = await push(client, p, json_body([officer(2)]), headers=other)
    assert response.status_code == 404 and response.json()["code"] == "agreement_not_found"
    for url in (batch_url, f"{batch_url}/errors"):
        missing = await client.get(url, headers=other)
        assert missing.status_code == 404, url
        assert missing.json()["code"] == "roster_batch_not_found"

    # The agreement's BPJS branch: a party, but it does not push rosters.
    no_scope = await create_key(client, p.branch_id, ["agreements:read", "registrations:read"])
    response = await push(client, p, json_body([officer(2)]), headers=no_scope)
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    response = await push(client, p, json_body([officer(2)]), headers=p.branch)
    assert response.status_code == 403 and response.json()["code"] == "not_counterpart"
    # It reads the batch; its problem rows (NIKs, names) need pii:read or rosters:write.
    assert (await client.get(batch_url, headers=no_scope)).status_code == 200
    errors = await client.get(f"{batch_url}/errors", headers=no_scope)
    assert errors.status_code == 403 and errors.json()["code"] == "missing_scope"
    coverage_only = await create_key(client, p.branch_id, ["coverage:read"])
    assert (await client.get(batch_url, headers=coverage_only)).status_code == 403

    # An operator may push and read anything.
    assert (await push(client, p, json_body([officer(3)]), headers=ADMIN)).status_code == 201
    assert (await client.get(batch_url, headers=ADMIN)).status_code == 200
    assert (await client.get(f"{batch_url}/errors", headers=ADMIN)).status_code == 200
    unknown = await client.get(
        "/v1/roster-batches/00000000-0000-0000-0000-000000000000", headers=ADMIN
    )
    assert unknown.status_code == 404
    assert await count(session, Registration) == 2


async def test_only_an_active_agreement_takes_registrations(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session, status="draft")
    response = await push(client, p, json_body([officer(1)]))
    assert response.status_code == 409 and response.json()["code"] == "agreement_not_active"
    assert await count(session, RosterBatch) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"<officers/>", "application/xml", 415, "unsupported_media_type"),
        (b"just some words", None, 415, "unsupported_media_type"),
        (b"", "text/csv", 422, "roster_empty"),
        (b"NAMA;ALAMAT\r\nAni;Kisaran\r\n", "text/csv", 422, "roster_header_not_found"),
        (b"NIK;NAMA\r\n", "text/csv", 422, "roster_empty"),
        (b'{"officers": [1, 2]}', "application/json", 422, "roster_malformed"),
        (b"not json", "application/json", 422, "roster_malformed"),
        (b"PK\x03\x04 not really a workbook", XLSX, 422, "roster_malformed"),
        (
            b'{"officers": [{"nik": "1"}], "mode": "merge"}',
            "application/json",
            422,
            "invalid_roster_options",
        ),
        (b'{"officers": []}', "application/json", 422, "roster_empty"),
        (b'{"officers": [{"nik": "1"}], "atomik": true}', None, 422, "invalid_roster_options"),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient,
    session: AsyncSession,
    body: bytes,
    content_type: str | None,
    status: int,
    code: str,
):
    p = await parties(client, session)
    response = await push(client, p, body, content_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert await count(session, RosterBatch) == 0


async def test_bad_query_parameters(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    body = json_body([officer(1)], mode="upsert")
    params: dict[str, str]
    for params in ({"mode": "merge"}, {"atomic": "perhaps"}, {"as_of": "yesterday"}):
        response = await push(client, p, body, "application/json", None, **params)
        assert response.status_code == 422 and response.json()["code"] == "validation_error"
    clash = await push(client, p, body, mode="replace")
    assert clash.status_code == 422 and clash.json()["code"] == "invalid_roster_options"
    assert await count(session, RosterBatch) == 0


async def test_idempotent_replay_and_reuse(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    headers = {**p.counterpart, "Idempotency-Key": "kpps-2024-11-20"}
    body = csv_body([officer(1), officer(2)])
    first = await push(client, p, body, CSV, headers=headers)
    assert first.status_code == 201
    replay = await push(client, p, body, CSV, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["counts"] == first.json()["counts"]
    assert first.json()["idempotency_key"] == "kpps-2024-11-20"
    assert await count(session, RosterBatch) == 1
    assert await count(session, Registration) == 2

    changed = await push(client, p, csv_body([officer(3)]), CSV, headers=headers)
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    other_query = await push(client, p, body, CSV, headers=headers, mode="replace")
    assert other_query.status_code == 422
    # Keys belong to an organization: another office may use the same one.
    q = await parties(client, session)
    again = await push(
        client, q, body, CSV, headers={**q.counterpart, "Idempotency-Key": "kpps-2024-11-20"}
    )
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert await count(session, RosterBatch) == 2


async def test_a_refused_atomic_roster_replays_its_422(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    headers = {**p.counterpart, "Idempotency-Key": "atomic-1"}
    body = json_body([officer(1), officer(2, tps=None)], atomic=True)
    first = await push(client, p, body, headers=headers)
    replay = await push(client, p, body, headers=headers)
    assert first.status_code == replay.status_code == 422
    assert replay.json()["batch_id"] == first.json()["batch_id"]
    assert replay.json()["errors"] == first.json()["errors"]
    assert replay.headers["Idempotent-Replayed"] == "true"


@pytest.fixture
async def small_limit_client(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app_on(sessionmaker, database_url, max_upload_bytes=2048)) as client:
        yield client


async def test_a_body_over_the_limit_is_413(
    small_limit_client: httpx.AsyncClient, session: AsyncSession
):
    client = small_limit_client
    p = await parties(client, session)
    body = csv_body([officer(n) for n in range(1, 40)])
    assert len(body) > 2048
    declared = await push(client, p, body, CSV)
    assert declared.status_code == 413
    assert declared.json()["code"] == "payload_too_large"

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    streamed = await client.post(
        p.rosters_url, content=stream(), headers={**p.counterpart, "Content-Type": CSV}
    )
    assert streamed.status_code == 413
    assert await count(session, RosterBatch) == 0
    assert await count(session, Registration) == 0
    small = await push(client, p, csv_body([officer(1)]), CSV)
    assert small.status_code == 201


async def test_a_form_over_the_limit_is_413(
    small_limit_client: httpx.AsyncClient, session: AsyncSession
):
    client = small_limit_client
    p = await parties(client, session)
    body = csv_body([officer(n) for n in range(1, 40)])
    form = await client.post(p.rosters_url, files={"file": ("r.csv", body)}, headers=p.counterpart)
    assert form.status_code == 413
    assert form.json()["code"] == "payload_too_large"
    assert await count(session, RosterBatch) == 0
    small = csv_body([officer(1)])
    fits = await client.post(p.rosters_url, files={"file": ("r.csv", small)}, headers=p.counterpart)
    assert fits.status_code == 201, fits.text


async def test_as_of_defaults_to_today_in_jakarta(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    batch = (await push(client, p, json_body([officer(1)]))).json()
    assert date.fromisoformat(batch["as_of"]) >= date(2026, 1, 1)
