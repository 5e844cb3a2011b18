"""Reading claims: who sees them, what is masked, the access log, list filters and pages."""

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.documents import checklist
from tests.access_log import access_log_rows
from tests.claims.helpers import World, claimant, file, jkk, jkm, move, world
from tests.conftest import ADMIN_KEY
from tests.factories import issue_key

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
async def w(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


async def access_rows(session: AsyncSession, endpoint: str) -> list[tuple[object, ...]]:
    """Who read which NIK through `endpoint` (a claim read counts no registrations)."""
    return [tuple(row)[:4] for row in await access_log_rows(session, endpoint=endpoint)]


async def test_parties_see_a_claim_others_get_404(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, nik = await w.officer()
    claim = await file(client, w.counterpart, jkk(registration_id))
    url = f"/v1/claims/{claim['id']}"
    for caller in (w.branch, w.counterpart, w.payer):
        response = await client.get(url, headers=caller.headers)
        assert response.status_code == 200, response.text
        assert response.headers["ETag"] == '"1"'
        assert response.json()["nik"] == nik
    assert (await client.get(url, headers=ADMIN)).status_code == 200
    hidden = await client.get(url, headers=w.outsider.headers)
    missing = await client.get(f"/v1/claims/{uuid.uuid4()}", headers=w.branch.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "claim_not_found"
    assert (await client.get("/v1/claims/not-a-uuid", headers=w.branch.headers)).status_code == 422
    no_scope = await issue_key(client, w.branch.organization_id, ["coverage:read", "pii:read"])
    response = await client.get(url, headers=no_scope.headers)
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    review_only = await issue_key(client, w.branch.organization_id, ["claims:review"])
    assert (await client.get(url, headers=review_only.headers)).status_code == 200


async def test_personal_data_is_masked_without_pii_read(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, nik = await w.officer()
    claim = await file(client, w.counterpart, jkm(registration_id))
    plain = await issue_key(client, w.payer.organization_id, ["claims:write"])
    masked = (await client.get(f"/v1/claims/{claim['id']}", headers=plain.headers)).json()
    assert masked["nik"] == f"{nik[:6]}********{nik[14:]}"
    assert masked["claimant"] == {
        "name": None,
        "nik": "317101********02",
        "relation": "spouse",
        "phone": None,
        "bank_name": "BRI",
        "bank_account": None,
    }
    full = (await client.get(f"/v1/claims/{claim['id']}", headers=w.payer.headers)).json()
    assert full["claimant"] == claimant("spouse")


async def test_every_claim_shown_is_in_the_access_log(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, nik = await w.officer()
    claim = await file(client, w.counterpart, jkk(registration_id))
    assert await access_rows(session, "POST /v1/claims") == [
        (w.counterpart.key_id, w.counterpart.organization_id, int(nik), "POST /v1/claims")
    ]
    await client.get(f"/v1/claims/{claim['id']}", headers=w.branch.headers)
    await client.get(f"/v1/claims/{claim['id']}", headers=w.outsider.headers)  # 404: not a read
    assert await access_rows(session, "GET /v1/claims/{id}") == [
        (w.branch.key_id, w.branch.organization_id, int(nik), "GET /v1/claims/{id}")
    ]
    await client.get("/v1/claims", headers=w.payer.headers)
    assert await access_rows(session, "GET /v1/claims") == [
        (w.payer.key_id, w.payer.organization_id, int(nik), "GET /v1/claims")
    ]
    await move(client, w.branch, claim["id"], '"1"', {"to": "verified"})
    assert len(await access_rows(session, "POST /v1/claims/{id}/transitions")) == 1
    audit = await session.execute(
        text("SELECT action, detail::text FROM audit_log WHERE entity_id = :id ORDER BY id"),
        {"id": claim["id"]},
    )
    rows = list(audit)
    assert [row[0] for row in rows] == ["claim.create", "claim.transition"]
    assert all(nik not in row[1] for row in rows)  # ids only in the audit log


async def test_list_filters_and_pages(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    ids = []
    for day, body_of in (("2024-11-05", jkk), ("2024-11-15", jkm), ("2024-11-25", jkk)):
        registration_id, _ = await w.officer()
        body = body_of(
            registration_id,
            incident_date=day,
            incident_at=None,
            reported_at=f"{day}T12:00:00+07:00",
        )
        ids.append((await file(client, w.counterpart, body))["id"])
    await move(client, w.branch, ids[0], '"1"', {"to": "verified"})
    # A claim under another agreement, which the branch must not see.
    other = await world(client, session)
    registration_id, _ = await other.officer()
    foreign = (await file(client, other.counterpart, jkk(registration_id)))["id"]

    async def listed(
        params: dict[str, str], headers: dict[str, str] = w.branch.headers
    ) -> list[str]:
        response = await client.get("/v1/claims", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed({}) == ids
    assert await listed({"agreement": str(w.agreement.id)}) == ids
    assert await listed({"program": "JKM"}) == [ids[1]]
    assert await listed({"status": "verified"}) == [ids[0]]
    assert await listed({"status": "submitted", "program": "JKK"}) == [ids[2]]
    assert await listed({"from": "2024-11-15"}) == ids[1:]
    assert await listed({"to": "2024-11-15"}) == ids[:2]
    assert await listed({"from": "2024-11-10", "to": "2024-11-20"}) == [ids[1]]
    assert await listed({}, headers=other.branch.headers) == [foreign]
    assert set(await listed({}, headers=ADMIN)) == {*ids, foreign}

    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/v1/claims", params=params, headers=w.payer.headers)).json()
        pages.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == ids
    item = (await client.get("/v1/claims", params={"limit": "1"}, headers=w.payer.headers)).json()
    summary = item["items"][0]
    assert summary["status"] == "verified" and summary["version"] == 2
    assert summary["payable_total"] == 0 and summary["warnings"] == []


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2024-12-01", "to": "2024-11-01"}, 422, "invalid_range"),
        ({"status": "open"}, 422, "validation_error"),
        ({"program": "JKN"}, 422, "validation_error"),
        ({"from": "01-11-2024"}, 422, "validation_error"),
        ({"agreement": "x"}, 422, "validation_error"),
        ({"limit": "0"}, 422, "validation_error"),
        ({"cursor": "garbage"}, 422, "invalid_cursor"),
        ({"agreement": str(uuid.uuid4())}, 404, "agreement_not_found"),
    ],
)
async def test_list_bad_input(
    client: httpx.AsyncClient, w: World, params: dict[str, str], status: int, code: str
) -> None:
    response = await client.get("/v1/claims", params=params, headers=w.branch.headers)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_list_scoping(client: httpx.AsyncClient, w: World, session: AsyncSession) -> None:
    registration_id, _ = await w.officer()
    await file(client, w.counterpart, jkk(registration_id))
    response = await client.get(
        "/v1/claims", params={"agreement": str(w.agreement.id)}, headers=w.outsider.headers
    )
    assert response.status_code == 404
    assert (await client.get("/v1/claims", headers=w.outsider.headers)).json()["items"] == []
    no_scope = await issue_key(client, w.branch.organization_id, ["reports:read"])
    response = await client.get("/v1/claims", headers=no_scope.headers)
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"


@pytest.mark.parametrize(
    ("program", "incident_type", "outcome", "medical", "transport", "expected"),
    [
        (
            "JKM",
            "death",
            "death",
            0,
            0,
            [
                "death_certificate",
                "heirship_letter",
                "ktp_deceased",
                "ktp_heir",
                "family_card",
                "bank_book",
            ],
        ),
        (
            "JKK",
            "work_accident",
            "treatment",
            0,
            0,
            ["kk1", "kk2", "chronology", "duty_letter", "attendance_record"],
        ),
        (
            "JKK",
            "commuting_accident",
            "treatment",
            1,
            1,
            [
                "kk1",
                "kk2",
                "chronology",
                "duty_letter",
                "attendance_record",
                "police_report",
                "medical_receipts",
                "transport_receipts",
            ],
        ),
        (
            "JKK",
            "occupational_disease",
            "death",
            0,
            0,
            [
                "kk1",
                "kk2",
                "chronology",
                "duty_letter",
                "attendance_record",
                "death_certificate",
                "heirship_letter",
            ],
        ),
    ],
)
def test_checklists(
    program: str,
    incident_type: str,
    outcome: str,
    medical: int,
    transport: int,
    expected: list[str],
) -> None:
    assert (
        checklist(
            program=program,
            incident_type=incident_type,
            outcome=outcome,
            medical_claimed=medical,
            transport_claimed=transport,
        )
        == expected
    )
