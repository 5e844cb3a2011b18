"""The console's sign-in, sessions and forms over httpx (ASGI), with their bad inputs: no
session, wrong or revoked keys, forged forms without a CSRF token, bodies that are no form,
stale claim versions, malformed NIKs and ids, and another organization's ids."""

import re
import uuid

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ConsoleSession, Registration
from tests.conftest import ADMIN_KEY
from tests.factories import ADMIN, create_key
from tests.registrations.helpers import KPPS, PTPS, World, world
from tests.seed import OfficerSpec, held_conflict, make_nik, register

HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BRANCH_SCOPES = ["agreements:read", "agreements:write", "registrations:read", "pii:read"]


@pytest.fixture
async def setup(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


def csrf_in(page: httpx.Response) -> str:
    found = HIDDEN_CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Signs the client in with `key`; the CSRF token of its session's forms."""
    form = await client.get("/console/masuk")
    response = await client.post(
        "/console/masuk", data={"csrf_token": csrf_in(form), "api_key": key, "lanjut": ""}
    )
    assert response.status_code == 303, response.text
    return csrf_in(await client.get(response.headers["location"]))


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def held_registration(session: AsyncSession, setup: World) -> int:
    (held,) = await register(
        session,
        setup.bawaslu,
        PTPS,
        OfficerSpec(nik=make_nik(serial=7), status="held", conflict=held_conflict("kpu", "KPPS")),
    )
    return held


async def test_pages_without_a_session_redirect_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/console/perjanjian", "/console/klaim?status=verified", "/console/ditahan"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/masuk?lanjut=%2Fconsole%2F")
    script = await client.get(f"/console/unggahan/{uuid.uuid4()}/status")
    assert script.status_code == 401
    assert script.json()["code"] == "console_sign_in_required"


async def test_sign_in_sets_a_strict_cookie_and_stores_only_a_hash(
    client: httpx.AsyncClient, session: AsyncSession, setup: World
) -> None:
    key = token_of(await create_key(client, setup.branch, BRANCH_SCOPES))
    form = await client.get("/console/masuk")
    assert "default-src 'none'" in form.headers["content-security-policy"]
    response = await client.post(
        "/console/masuk", data={"csrf_token": csrf_in(form), "api_key": key}
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie  # not production
    token = client.cookies["perisai_console"]
    stored = (await session.scalars(select(ConsoleSession))).all()
    assert len(stored) == 1 and len(stored[0].token_hash) == 32
    assert token.encode() not in stored[0].token_hash
    listing = await client.get("/console/perjanjian")
    assert listing.status_code == 200 and "PKS/KPU/2024" in listing.text
    assert key not in listing.text and token not in listing.text


async def test_wrong_keys_and_forged_sign_ins_are_refused(
    client: httpx.AsyncClient, setup: World
) -> None:
    form = await client.get("/console/masuk")
    csrf = csrf_in(form)
    wrong = await client.post("/console/masuk", data={"csrf_token": csrf, "api_key": "prs_nope"})
    assert wrong.status_code == 401 and 'data-code="unauthorized"' in wrong.text
    admin = await client.post("/console/masuk", data={"csrf_token": csrf, "api_key": ADMIN_KEY})
    assert admin.status_code == 403 and "console_admin_key_refused" in admin.text
    key = token_of(await create_key(client, setup.branch, BRANCH_SCOPES))
    forged = await client.post("/console/masuk", data={"api_key": key})
    assert forged.status_code == 403 and "csrf_token_invalid" in forged.text
    assert "perisai_console" not in client.cookies


async def test_revoking_the_key_or_signing_out_ends_the_session(
    client: httpx.AsyncClient, browser_client: httpx.AsyncClient, setup: World
) -> None:
    issued = await client.post(
        f"/v1/organizations/{setup.branch}/api-keys",
        json={"name": "console", "scopes": BRANCH_SCOPES},
        headers=ADMIN,
    )
    await sign_in(browser_client, issued.json()["key"])
    assert (await browser_client.get("/console/perjanjian")).status_code == 200
    revoked = await client.delete(f"/v1/api-keys/{issued.json()['id']}", headers=ADMIN)
    assert revoked.status_code in (200, 204)
    assert (await browser_client.get("/console/perjanjian")).status_code == 303

    csrf = await sign_in(client, token_of(await create_key(client, setup.branch, BRANCH_SCOPES)))
    forged = await client.post("/console/keluar", data={"csrf_token": ""})
    assert forged.status_code == 403
    out = await client.post("/console/keluar", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert (await client.get("/console/perjanjian")).status_code == 303


async def test_resolve_without_csrf_or_with_a_bad_choice_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, setup: World
) -> None:
    held = await held_registration(session, setup)
    csrf = await sign_in(
        client, token_of(await create_key(client, setup.other_branch, BRANCH_SCOPES))
    )
    page = await client.get("/console/ditahan")
    assert f'action="/console/ditahan/{held}"' in page.text
    forged = await client.post(f"/console/ditahan/{held}", data={"action": "reject"})
    assert forged.status_code == 403 and "csrf_token_invalid" in forged.text
    bogus = await client.post(
        f"/console/ditahan/{held}", data={"csrf_token": csrf, "action": "delete"}
    )
    assert bogus.status_code == 422 and "validation_error" in bogus.text
    as_json = await client.post(
        f"/console/ditahan/{held}",
        json={"csrf_token": csrf, "action": "reject"},
    )
    assert as_json.status_code == 415
    huge = await client.post(
        f"/console/ditahan/{held}",
        content=b"note=" + b"x" * 20_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    assert await session.scalar(select(Registration.status).where(Registration.id == held)) == (
        "held"
    )
    done = await client.post(
        f"/console/ditahan/{held}", data={"csrf_token": csrf, "action": "reject"}
    )
    assert done.status_code == 303
    assert await session.scalar(select(Registration.status).where(Registration.id == held)) == (
        "rejected"
    )


async def test_another_organizations_ids_answer_not_found(
    client: httpx.AsyncClient, session: AsyncSession, setup: World
) -> None:
    held = await held_registration(session, setup)
    csrf = await sign_in(client, token_of(await create_key(client, setup.branch, BRANCH_SCOPES)))
    other = await client.get(f"/console/perjanjian/{setup.bawaslu.id}")
    assert other.status_code == 404 and "agreement_not_found" in other.text
    assert "PKS/BAWASLU/2024" not in (await client.get("/console/perjanjian")).text
    assert f"held-{held}" not in (await client.get("/console/ditahan")).text
    resolve = await client.post(
        f"/console/ditahan/{held}", data={"csrf_token": csrf, "action": "transfer"}
    )
    assert resolve.status_code == 404 and "registration_not_found" in resolve.text
    assert (await client.get(f"/console/unggahan/{uuid.uuid4()}")).status_code == 404
    malformed = await client.get("/console/perjanjian/not-a-uuid")
    assert malformed.status_code == 422 and "validation_error" in malformed.text


async def test_coverage_check_refuses_a_malformed_nik_or_date_and_masks_without_pii(
    client: httpx.AsyncClient, session: AsyncSession, setup: World
) -> None:
    nik = make_nik(serial=9)
    await register(session, setup.kpu, KPPS, OfficerSpec(nik=nik))
    csrf = await sign_in(
        client, token_of(await create_key(client, setup.outsider, ["coverage:read"]))
    )
    bad = await client.post("/console/cek", data={"csrf_token": csrf, "nik": "12345"})
    assert bad.status_code == 422 and 'data-code="invalid_nik"' in bad.text
    bad_date = await client.post(
        "/console/cek", data={"csrf_token": csrf, "nik": str(nik), "on": "2024-13-40"}
    )
    assert bad_date.status_code == 422 and "invalid_date" in bad_date.text
    answer = await client.post(
        "/console/cek", data={"csrf_token": csrf, "nik": str(nik), "on": "2024-12-01"}
    )
    assert answer.status_code == 200 and "Terlindungi" in answer.text
    assert str(nik) not in answer.text and str(nik)[:6] in answer.text
    reads = await session.scalar(
        text("SELECT count(*) FROM access_log WHERE nik = :nik"), {"nik": nik}
    )
    assert reads == 1


async def test_hostile_inputs_get_a_4xx_page(
    client: httpx.AsyncClient, session: AsyncSession, setup: World
) -> None:
    held = await held_registration(session, setup)
    form = await client.get("/console/masuk")
    nul_key = await client.post(
        "/console/masuk", data={"csrf_token": csrf_in(form), "api_key": "prs_ab\x00defghij.x"}
    )
    assert nul_key.status_code == 401
    csrf = await sign_in(
        client, token_of(await create_key(client, setup.other_branch, BRANCH_SCOPES))
    )
    for path in (
        "/console/klaim?status=bogus",
        "/console/perjanjian?cursor=%00garbage",
        f"/console/perjanjian/{setup.bawaslu.id}?x=%ff",
    ):
        response = await client.get(path)
        assert response.status_code in (200, 400, 422), (path, response.status_code)
        assert response.headers["content-type"].startswith("text/html"), path
    for path in ("/console/ditahan/99999999999999999999", "/console/ditahan/0"):
        response = await client.post(path, data={"csrf_token": csrf, "action": "reject"})
        assert response.status_code == 422 and "validation_error" in response.text, path
    note = await client.post(
        f"/console/ditahan/{held}", data={"csrf_token": csrf, "action": "reject", "note": "a\x00b"}
    )
    assert note.status_code == 422 and 'data-code="invalid_text"' in note.text
    assert await session.scalar(select(Registration.status).where(Registration.id == held)) == (
        "held"
    )
