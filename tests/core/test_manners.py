"""HTTP manners: 401 challenge, no-store on personal data, gzip, CORS, OPTIONS and Allow,
If-None-Match, and the 428 hint naming the current version."""

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.agreements.helpers import create, parties
from tests.conftest import app_settings
from tests.factories import ADMIN, organization_with_key
from tests.rosters.helpers import CSV, csv_body, errors_url, officer, push
from tests.rosters.helpers import parties as roster_parties


async def test_401_names_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer prs_0123456789.wrong"},
        {"Authorization": "Basic eDp5"},
    ):
        response = await client.get("/v1/registrations", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_personal_data_is_not_stored_reference_data_may_be(
    client: httpx.AsyncClient,
) -> None:
    organization, headers = await organization_with_key(client, "integrator")
    for url in ("/v1/registrations", "/v1/coverage/1209185705900001", "/v1/claims"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "no-store", url
    # Refusals on those routes too, and a key shown once.
    assert (await client.get("/v1/registrations")).headers["cache-control"] == "no-store"
    issued = await client.post(
        f"/v1/organizations/{organization['id']}/api-keys",
        json={"name": "shown once", "scopes": ["coverage:read"]},
        headers=ADMIN,
    )
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    roles = await client.get("/v1/roles", headers=headers)
    assert roles.status_code == 200 and "cache-control" not in roles.headers


async def test_large_answers_are_gzipped_small_ones_not(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "integrator")
    url = "/v1/regions?level=district&limit=500"
    zipped = await client.get(url, headers={**headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = await client.get(url, headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json() and len(plain.json()["items"]) == 500
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


async def test_streamed_csv_export_survives_gzip(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    p = await roster_parties(client, session)
    rows = [officer(serial, full_name="") for serial in range(1, 401)]  # every row refused
    batch = await push(client, p, csv_body(rows), CSV)
    assert batch.status_code == 201, batch.text
    headers = {**p.counterpart, "Accept": "text/csv", "Accept-Encoding": "gzip"}
    async with client.stream("GET", errors_url(batch.json()["id"]), headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    text = gzip.decompress(raw).decode("utf-8-sig")
    assert len(text.splitlines()) == 401  # the header and every refused row


@pytest.fixture
async def cors_client(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings(database_url).model_copy(
        update={"cors_origins": "https://portal.kpu.example, https://sim.bawaslu.example"}
    )
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Origin": "https://portal.kpu.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_preflight_and_answers_for_allowed_origins(
    cors_client: httpx.AsyncClient,
) -> None:
    origin = "https://portal.kpu.example"
    preflight = await cors_client.options(
        "/v1/coverage/checks",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")
    }
    answer = await cors_client.get("/v1/roles", headers={"Origin": origin, **ADMIN})
    assert answer.headers["access-control-allow-origin"] == origin
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
    # Another origin is not let in.
    stranger = await cors_client.options(
        "/v1/roles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers


async def test_options_and_405_name_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    checks = await client.options("/v1/coverage/checks")
    assert checks.status_code == 204
    assert checks.headers["allow"] == "OPTIONS, POST"
    lookup = await client.options("/v1/coverage/1209185705900001")
    assert lookup.headers["allow"] == "GET, OPTIONS"
    agreement = await client.options("/v1/agreements/00000000-0000-0000-0000-000000000001")
    assert set(agreement.headers["allow"].split(", ")) == {"GET", "OPTIONS", "PATCH"}
    wrong = await client.put("/v1/coverage/checks", json={}, headers=ADMIN)
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "OPTIONS, POST"
    assert (await client.options("/v1/nowhere")).status_code == 404


async def test_if_none_match_gets_304(client: httpx.AsyncClient) -> None:
    p = await parties(client)
    created = await create(client, p)
    url = f"/v1/agreements/{created['id']}"
    first = await client.get(url, headers=p.branch.headers)
    etag = first.headers["etag"]
    for held in (etag, f"W/{etag}", f'"99", {etag}', "*"):
        again = await client.get(url, headers={**p.branch.headers, "If-None-Match": held})
        assert again.status_code == 304, held
        assert again.content == b"" and again.headers["etag"] == etag
    changed = await client.patch(
        url, json={"signed_place": "Kisaran"}, headers={**p.branch.headers, "If-Match": etag}
    )
    assert changed.status_code == 200
    fresh = await client.get(url, headers={**p.branch.headers, "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.json()["signed_place"] == "Kisaran"
    # Another organization's agreement is 404, tag or not: ETags leak nothing.
    _, stranger = await organization_with_key(client, "kpu")
    hidden = await client.get(url, headers={**stranger, "If-None-Match": "*"})
    assert hidden.status_code == 404


async def test_428_names_the_current_version(client: httpx.AsyncClient) -> None:
    p = await parties(client)
    created = await create(client, p)
    url = f"/v1/agreements/{created['id']}"
    changed = await client.patch(
        url, json={"signed_place": "Kisaran"}, headers={**p.branch.headers, "If-Match": '"1"'}
    )
    assert changed.headers["etag"] == '"2"'
    missing = await client.patch(url, json={"signed_place": "Asahan"}, headers=p.branch.headers)
    assert missing.status_code == 428
    assert 'If-Match: "2"' in missing.json()["detail"]
    assert missing.headers["etag"] == '"2"'
