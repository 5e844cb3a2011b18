"""The webhook-endpoints API: what it takes, what it refuses, and whose ids it answers."""

import uuid

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.settings import Settings
from app.main import create_app
from app.webhooks.urls import address_allowed
from tests.conftest import ADMIN_KEY
from tests.factories import issue_key, organization_with_key
from tests.problems import assert_problem

URL = "http://127.0.0.1:9/hook"


async def endpoint_count(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM webhook_endpoints"))).scalar_one())


async def test_create_read_update_delete(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, headers = await organization_with_key(client, "kpu")
    created = await client.post(
        "/v1/webhook-endpoints",
        json={"url": URL, "event_types": ["claim.created", "roster_batch.failed"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    path = f"/v1/webhook-endpoints/{body['id']}"
    read = await client.get(path, headers=headers)
    assert "secret" not in read.json() and read.headers["ETag"] == '"1"'
    patched = await client.patch(
        path, json={"enabled": False}, headers={**headers, "If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["enabled"], patched.json()["disabled_reason"]) == (
        False,
        "disabled by its organization",
    )
    again = await client.patch(path, json={"enabled": True}, headers={**headers, "If-Match": '"2"'})
    assert (again.json()["enabled"], again.json()["disabled_reason"]) == (True, None)
    listed = await client.get("/v1/webhook-endpoints", headers=headers)
    assert [e["id"] for e in listed.json()["items"]] == [body["id"]]
    assert (await client.delete(path, headers=headers)).status_code == 204
    assert_problem(await client.get(path, headers=headers), 404, "webhook_endpoint_not_found")
    assert (await client.get("/v1/webhook-endpoints", headers=headers)).json()["items"] == []
    assert await endpoint_count(session) == 1  # kept, with its history


BAD_SUBSCRIPTIONS = [
    ({"url": "ftp://127.0.0.1/x", "event_types": ["claim.created"]}, "url_invalid"),
    ({"url": "http://user:pw@127.0.0.1/x", "event_types": ["claim.created"]}, "url_invalid"),
    ({"url": "http://[::1/x", "event_types": ["claim.created"]}, "url_invalid"),
    ({"url": URL, "event_types": []}, "validation_error"),
    ({"url": URL, "event_types": ["claim.deleted"]}, "validation_error"),
    ({"url": URL, "event_types": ["ping"]}, "validation_error"),
    ({"url": URL, "event_types": ["claim.created", "claim.created"]}, "validation_error"),
    ({"url": URL, "event_types": ["claim.created"], "secret": "mine"}, "validation_error"),
    ({"url": "http://" + "a" * 2000, "event_types": ["claim.created"]}, "validation_error"),
    ({"url": URL}, "validation_error"),
    ({"url": 12, "event_types": "claim.created"}, "validation_error"),
]


async def test_bad_subscriptions_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await organization_with_key(client, "kpu")
    for body, code in BAD_SUBSCRIPTIONS:
        response = await client.post("/v1/webhook-endpoints", json=body, headers=headers)
        assert_problem(response, 422, code)
    not_json = await client.post(
        "/v1/webhook-endpoints", content=b"url=x", headers={**headers, "Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415
    assert await endpoint_count(session) == 0


async def test_updates_need_a_current_if_match_and_valid_fields(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "kpu")
    created = await client.post(
        "/v1/webhook-endpoints",
        json={"url": URL, "event_types": ["claim.created"]},
        headers=headers,
    )
    path = f"/v1/webhook-endpoints/{created.json()['id']}"
    assert (await client.patch(path, json={"enabled": False}, headers=headers)).status_code == 428
    stale = await client.patch(
        path, json={"enabled": False}, headers={**headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    current = {**headers, "If-Match": '"1"'}
    assert_problem(
        await client.patch(path, json={"url": None}, headers=current), 422, "field_not_nullable"
    )
    assert_problem(
        await client.patch(path, json={"event_types": ["ping"]}, headers=current),
        422,
        "validation_error",
    )
    assert_problem(
        await client.patch(path, json={"url": "gopher://x"}, headers=current), 422, "url_invalid"
    )
    assert (await client.get(path, headers=headers)).json()["version"] == 1


async def test_another_organizations_endpoint_answers_404(client: httpx.AsyncClient) -> None:
    _, mine = await organization_with_key(client, "kpu")
    _, theirs = await organization_with_key(client, "bawaslu")
    created = await client.post(
        "/v1/webhook-endpoints", json={"url": URL, "event_types": ["claim.created"]}, headers=mine
    )
    endpoint = created.json()["id"]
    ping = await client.post(f"/v1/webhook-endpoints/{endpoint}/test", headers=mine)
    delivery = ping.json()["id"]
    base = f"/v1/webhook-endpoints/{endpoint}"
    calls = [
        ("GET", base, None),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"{base}/deliveries/{delivery}/retry", None),
    ]
    for method, path, body in calls:
        response = await client.request(
            method, path, json=body, headers={**theirs, "If-Match": '"1"'}
        )
        assert_problem(response, 404, "webhook_endpoint_not_found")
    assert (await client.get("/v1/webhook-endpoints", headers=theirs)).json()["items"] == []
    missing = await client.post(f"{base}/deliveries/{delivery + 1000}/retry", headers=mine)
    assert_problem(missing, 404, "delivery_not_found")
    unknown = await client.get(f"/v1/webhook-endpoints/{uuid.uuid4()}", headers=mine)
    assert_problem(unknown, 404, "webhook_endpoint_not_found")
    assert (await client.get(base, headers=mine)).json()["enabled"] is True


async def test_scopes_and_keys(client: httpx.AsyncClient) -> None:
    organization, _ = await organization_with_key(client, "kpu")
    reader = await issue_key(client, organization["id"], ["events:read"])
    for method, path in (("GET", "/v1/webhook-endpoints"), ("POST", "/v1/webhook-endpoints")):
        response = await client.request(
            method,
            path,
            json={"url": URL, "event_types": ["claim.created"]},
            headers=reader.headers,
        )
        assert_problem(response, 403, "missing_scope")
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    operator = await client.post(
        "/v1/webhook-endpoints", json={"url": URL, "event_types": ["claim.created"]}, headers=admin
    )
    assert_problem(operator, 403, "no_organization")


@pytest.fixture
def production_client(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> httpx.AsyncClient:
    settings = Settings(
        environment="production", database_url=database_url, admin_api_key=ADMIN_KEY
    )
    app: FastAPI = create_app(settings)
    app.state.sessionmaker = sessionmaker
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


PRIVATE_URLS = [
    ("http://93.184.216.34/hook", "url_not_https"),
    ("https://127.0.0.1/hook", "url_not_public"),
    ("https://localhost/hook", "url_not_public"),
    ("https://10.1.2.3/hook", "url_not_public"),
    ("https://192.168.0.10:8443/hook", "url_not_public"),
    ("https://169.254.169.254/latest/meta-data", "url_not_public"),
    ("https://[::1]/hook", "url_not_public"),
    ("https://[::ffff:10.0.0.1]/hook", "url_not_public"),
    ("https://100.100.100.200/hook", "url_not_public"),
    ("https://no-such-host.invalid/hook", "url_unresolvable"),
]


async def test_production_refuses_private_urls(
    production_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await organization_with_key(production_client, "kpu")
    for url, code in PRIVATE_URLS:
        response = await production_client.post(
            "/v1/webhook-endpoints",
            json={"url": url, "event_types": ["claim.created"]},
            headers=headers,
        )
        assert_problem(response, 422, code)
    assert await endpoint_count(session) == 0


def test_public_addresses_pass_the_public_policy() -> None:
    assert address_allowed("93.184.216.34", "public")
    assert address_allowed("2606:2800:220:1:248:1893:25c8:1946", "public")
    assert not address_allowed("127.0.0.1", "public")
    assert address_allowed("127.0.0.1", "loopback")
    assert not address_allowed("10.0.0.1", "loopback")


def test_a_lease_shorter_than_an_attempt_is_refused() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_LEASE_SECONDS"):
        Settings(webhook_read_timeout=30, webhook_lease_seconds=60)


async def test_bad_ids_and_bodies_of_the_endpoint_actions(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "kpu")
    created = await client.post(
        "/v1/webhook-endpoints",
        json={"url": URL, "event_types": ["claim.created"]},
        headers=headers,
    )
    base = f"/v1/webhook-endpoints/{created.json()['id']}"
    for hours in (-1, 169, "soon"):
        rotate = await client.post(
            f"{base}/rotate-secret", json={"keep_previous_hours": hours}, headers=headers
        )
        assert_problem(rotate, 422, "validation_error")
    for path in (
        "/v1/webhook-endpoints/not-a-uuid",
        "/v1/webhook-endpoints/not-a-uuid/deliveries",
        f"{base}/deliveries/0/retry",
        f"{base}/deliveries/{2**63}/retry",
        f"{base}/deliveries/x/retry",
    ):
        method = "POST" if path.endswith("retry") else "GET"
        assert_problem(await client.request(method, path, headers=headers), 422, "validation_error")
    bad_cursor = await client.get(f"{base}/deliveries", params={"cursor": "nope"}, headers=headers)
    assert_problem(bad_cursor, 422, "invalid_cursor")
    listed = await client.get("/v1/webhook-endpoints", params={"cursor": "nope"}, headers=headers)
    assert_problem(listed, 422, "invalid_cursor")
    disabled = await client.patch(
        base, json={"enabled": False}, headers={**headers, "If-Match": '"1"'}
    )
    assert disabled.status_code == 200
    assert_problem(
        await client.post(f"{base}/test", headers=headers), 409, "webhook_endpoint_disabled"
    )
    # The secret is unchanged by the refused rotations.
    assert (await client.get(base, headers=headers)).json()["version"] == 2
