"""Registrations shown with personal data are in the access log; masked answers are not."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.access_log import access_log_rows
from tests.factories import ADMIN, issue_key
from tests.registrations.helpers import KPPS, PTPS, READ, READ_PII, world
from tests.seed import OfficerSpec, make_nik, register

READ_ONE = "GET /v1/registrations/{id}"
LIST = "GET /v1/registrations"
NIKS = [make_nik(serial=n) for n in (1, 2, 3)]


async def test_reads_with_personal_data_are_logged_per_registration(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    ids = await register(session, w.kpu, KPPS, *(OfficerSpec(nik=nik) for nik in NIKS))
    await register(session, w.bawaslu, PTPS, OfficerSpec(nik=make_nik(serial=4)))
    reader = await issue_key(client, w.counterpart, READ_PII)
    who = (reader.key_id, reader.organization_id)

    response = await client.get(f"/v1/registrations/{ids[1]}", headers=reader.headers)
    assert response.status_code == 200 and response.json()["nik"] == str(NIKS[1])
    assert await access_log_rows(session) == [(*who, NIKS[1], READ_ONE, 1)]

    # A page of two: the third registration and the other agreement's were not shown.
    page = await client.get("/v1/registrations", params={"limit": 2}, headers=reader.headers)
    assert [item["id"] for item in page.json()["items"]] == ids[:2]
    assert (await access_log_rows(session))[1:] == [
        (*who, NIKS[0], LIST, 1),
        (*who, NIKS[1], LIST, 1),
    ]


async def test_masked_answers_and_refusals_are_not_logged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    (registration_id,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=NIKS[0]))
    masked = await issue_key(client, w.branch, READ)
    outsider = await issue_key(client, w.outsider, READ_PII)

    one = await client.get(f"/v1/registrations/{registration_id}", headers=masked.headers)
    assert one.status_code == 200 and one.json()["full_name"] is None
    listed = await client.get("/v1/registrations", headers=masked.headers)
    assert [item["nik"] for item in listed.json()["items"]] == ["120918********01"]
    hidden = await client.get(f"/v1/registrations/{registration_id}", headers=outsider.headers)
    assert hidden.status_code == 404
    assert (await client.get("/v1/registrations", headers=outsider.headers)).json()["items"] == []
    assert await access_log_rows(session) == []


async def test_operators_find_registration_reads_in_the_access_log(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    (registration_id,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=NIKS[0]))
    reader = await issue_key(client, w.payer, READ_PII)
    await client.get(f"/v1/registrations/{registration_id}", headers=reader.headers)
    await client.get("/v1/registrations", headers=reader.headers)

    found = await client.get("/v1/access-log", params={"nik": str(NIKS[0])}, headers=ADMIN)
    assert found.status_code == 200
    assert [
        (item["endpoint"], item["api_key_id"], item["organization_id"], item["registrations"])
        for item in found.json()["items"]
    ] == [
        (LIST, reader.key_id, reader.organization_id, 1),
        (READ_ONE, reader.key_id, reader.organization_id, 1),
    ]
