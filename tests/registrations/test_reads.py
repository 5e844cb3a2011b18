"""Listing and reading registrations: filters, pages, personal data, visibility, scopes."""

from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import encode_cursor
from tests.registrations.helpers import KPPS, PPK, PTPS, READ, READ_PII, key, village_outside, world
from tests.seed import OfficerSpec, make_nik, register, seed_agreement


async def all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/registrations", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_filters_and_pages(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    w = await world(client, session)
    elsewhere = await village_outside(session, "12.09", "12.09.18")
    kpps = await register(
        session,
        w.kpu,
        KPPS,
        *(OfficerSpec(nik=make_nik(serial=n)) for n in range(1, 5)),
        OfficerSpec(
            nik=make_nik(serial=5), status="terminated", ended_on=date(2024, 11, 30), tps="020"
        ),
    )
    ppk = await register(
        session,
        w.kpu,
        PPK,
        OfficerSpec(nik=make_nik(serial=6), region_code=elsewhere, tps=None, position="ketua"),
    )
    ptps = await register(session, w.bawaslu, PTPS, OfficerSpec(nik=make_nik(serial=7)))

    everything = await all_pages(client, admin)
    assert [item["id"] for item in everything] == sorted(kpps + ppk + ptps)

    async def ids(**params: Any) -> list[int]:
        return [item["id"] for item in await all_pages(client, admin, **params)]

    assert await ids(agreement_id=str(w.kpu.id)) == kpps + ppk
    assert await ids(cohort_id=str(w.kpu.cohorts["PPK"])) == ppk
    assert await ids(role="KPPS") == kpps
    assert await ids(role="PTPS") == ptps
    assert await ids(status="terminated") == kpps[4:]
    assert await ids(status="held") == []
    assert await ids(nik=str(make_nik(serial=3))) == kpps[2:3]
    assert await ids(region="12.09") == sorted(kpps + ppk + ptps)
    assert await ids(region="12.09.18") == sorted(kpps + ptps)
    assert await ids(region="12.09.18.2002") == sorted(kpps + ptps)
    assert await ids(region=elsewhere) == ppk
    assert await ids(region="12.10") == []
    assert await ids(agreement_id=str(w.kpu.id), role="KPPS", status="active") == kpps[:4]

    item = everything[0]
    assert item["agreement_number"] == "PKS/KPU/2024"
    assert item["role"] == "KPPS"
    assert item["coverage_start"] == "2024-11-15"
    assert item["coverage_end"] == "2024-12-31"
    assert item["status"] == "active"
    assert item["nik_warnings"] == []


async def test_bad_filters_are_422(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, str | int], str]] = [
        ({"nik": "12345"}, "invalid_nik"),
        ({"nik": "12091857059O0001"}, "invalid_nik"),
        ({"nik": "0209185705900001"}, "invalid_nik"),
        ({"nik": "1209185705900001" + "1"}, "invalid_nik"),
        ({"region": "12.9"}, "validation_error"),
        ({"region": "12.09.1"}, "validation_error"),
        ({"region": "12.09.%"}, "validation_error"),
        ({"status": "deleted"}, "validation_error"),
        ({"agreement_id": "not-a-uuid"}, "validation_error"),
        ({"cohort_id": "42"}, "validation_error"),
        ({"limit": 0}, "validation_error"),
        ({"cursor": "garbage"}, "invalid_cursor"),
    ]
    for params, code in cases:
        response = await client.get("/v1/registrations", params=params, headers=admin)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, params


async def test_personal_data_needs_pii_read(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    nik = make_nik(sex="P", serial=42)
    (registration_id,) = await register(
        session, w.kpu, KPPS, OfficerSpec(nik=nik, full_name="Siti Aminah", sex="P")
    )
    await session.execute(
        text("UPDATE registrations SET phone = '081234567890', kpj = '12345678901' WHERE id = :id"),
        {"id": registration_id},
    )
    plain = await key(client, w.counterpart, *READ)
    trusted = await key(client, w.counterpart, *READ_PII)

    masked = (await client.get(f"/v1/registrations/{registration_id}", headers=plain)).json()
    nik_text = str(nik)
    assert masked["nik"] == nik_text[:6] + "********" + nik_text[14:]
    assert len(masked["nik"]) == 16
    assert masked["full_name"] is None
    assert masked["birth_date"] is None
    assert masked["phone"] is None
    assert masked["kpj"] is None
    assert masked["sex"] == "P"
    assert masked["region_code"] == "12.09.18.2002"
    listed = (await client.get("/v1/registrations", headers=plain)).json()["items"]
    assert listed == [masked]
    # Filtering by a NIK the caller already knows does not unmask it.
    by_nik = await client.get("/v1/registrations", params={"nik": nik_text}, headers=plain)
    assert by_nik.json()["items"] == [masked]

    shown = (await client.get(f"/v1/registrations/{registration_id}", headers=trusted)).json()
    assert shown["nik"] == nik_text
    assert shown["full_name"] == "Siti Aminah"
    assert shown["birth_date"] == "1990-05-17"
    assert shown["phone"] == "081234567890"
    assert shown["kpj"] == "12345678901"
    listed = (await client.get("/v1/registrations", headers=trusted)).json()["items"]
    assert listed == [shown]


async def test_each_party_sees_its_agreements_only(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    w = await world(client, session)
    kpps = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=1)))
    ptps = await register(session, w.bawaslu, PTPS, OfficerSpec(nik=make_nik(serial=2)))

    for party in (w.branch, w.counterpart, w.payer):
        headers = await key(client, party, *READ)
        listed = (await client.get("/v1/registrations", headers=headers)).json()
        assert [item["id"] for item in listed["items"]] == kpps, party
        assert (
            await client.get(f"/v1/registrations/{kpps[0]}", headers=headers)
        ).status_code == 200
        hidden = await client.get(f"/v1/registrations/{ptps[0]}", headers=headers)
        assert hidden.status_code == 404

    outsider = await key(client, w.outsider, *READ_PII)
    listed = await client.get(
        "/v1/registrations", params={"agreement_id": str(w.kpu.id)}, headers=outsider
    )
    assert listed.json() == {"items": [], "next_cursor": None}
    invisible = await client.get(f"/v1/registrations/{kpps[0]}", headers=outsider)
    missing = await client.get("/v1/registrations/987654321", headers=outsider)
    assert invisible.status_code == missing.status_code == 404
    assert invisible.json() == missing.json()
    assert invisible.json()["code"] == "registration_not_found"

    everything = (await client.get("/v1/registrations", headers=admin)).json()["items"]
    assert [item["id"] for item in everything] == kpps + ptps


async def test_scope_and_malformed_ids(client: httpx.AsyncClient, session: AsyncSession) -> None:
    w = await world(client, session)
    (registration_id,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik()))
    no_read = await key(client, w.counterpart, "pii:read", "rosters:write", "agreements:write")
    for path in ("/v1/registrations", f"/v1/registrations/{registration_id}"):
        response = await client.get(path, headers=no_read)
        assert response.status_code == 403, path
        assert response.json()["code"] == "missing_scope"
    assert (await client.get("/v1/registrations")).status_code == 401

    reader = await key(client, w.counterpart, *READ)
    for bad in ("abc", "0", "-1", "1.5", str(2**63)):
        response = await client.get(f"/v1/registrations/{bad}", headers=reader)
        assert response.status_code == 422, bad
        assert response.json()["code"] == "validation_error"


async def test_pages_merge_the_agreements_of_a_party(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    second = await seed_agreement(
        session, bpjs_branch_id=w.branch, counterpart_id=w.outsider, cohorts=(KPPS,)
    )
    ids: list[int] = []
    for serial in range(1, 7):  # ids alternate between the two agreements
        agreement = w.kpu if serial % 2 else second
        ids += await register(session, agreement, KPPS, OfficerSpec(nik=make_nik(serial=serial)))
    await register(session, w.bawaslu, PTPS, OfficerSpec(nik=make_nik(serial=9)))
    branch = await key(client, w.branch, *READ)
    assert [item["id"] for item in await all_pages(client, branch)] == ids
    assert [item["agreement_number"] for item in await all_pages(client, branch)] == [
        "PKS/KPU/2024" if serial % 2 else second.number for serial in range(1, 7)
    ]
    assert [item["id"] for item in await all_pages(client, branch, agreement_id=second.id)] == [
        ids[1],
        ids[3],
        ids[5],
    ]
    # Not the branch's agreement: filtering on it shows nothing, as for a missing one.
    other = await all_pages(client, branch, agreement_id=w.bawaslu.id)
    assert other == []
    counterpart = await key(client, w.counterpart, *READ)
    assert [item["id"] for item in await all_pages(client, counterpart)] == ids[0::2]

    for forged in (encode_cursor(["abc"]), encode_cursor(["1", "2"]), encode_cursor([2**63])):
        response = await client.get("/v1/registrations", params={"cursor": forged}, headers=branch)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_cursor"
