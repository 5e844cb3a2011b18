"""KPJ membership numbers: set by the agreement's BPJS branch, 11 digits, one person each."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.coverage.helpers import KPPS_2024, PPK_2023, World, kpj_of, two_agreements
from tests.factories import ADMIN, issue_key
from tests.seed import OfficerSpec, make_nik, register

ANI = make_nik(serial=21)
BUDI = make_nik(serial=22)
CITRA = make_nik(serial=23)
KPJ = "24012345678"


async def setup(client: httpx.AsyncClient, session: AsyncSession) -> tuple[World, list[int]]:
    world = await two_agreements(client, session)
    ids = await register(session, world.mine, KPPS_2024, OfficerSpec(ANI), OfficerSpec(BUDI))
    ids += await register(session, world.mine, PPK_2023, OfficerSpec(ANI))
    ids += await register(session, world.theirs, KPPS_2024, OfficerSpec(CITRA))
    return world, ids  # ani 2024, budi 2024, ani 2023, citra (theirs)


async def test_branch_sets_and_clears_kpj(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world, (ani, budi, ani_2023, _) = await setup(client, session)
    branch = await issue_key(
        client, world.branch, ["agreements:write", "coverage:read", "pii:read"]
    )

    response = await client.patch(
        f"/v1/registrations/{ani}", json={"kpj": KPJ}, headers=branch.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["kpj"] == KPJ and response.json()["id"] == ani
    # The same person's other registration may carry the same number.
    again = await client.patch(
        f"/v1/registrations/{ani_2023}", json={"kpj": KPJ}, headers=branch.headers
    )
    assert again.status_code == 200
    shown = (await client.get(f"/v1/coverage/{ANI}", headers=branch.headers)).json()
    assert {r["kpj"] for r in shown["registrations"]} == {KPJ}

    taken = await client.patch(
        f"/v1/registrations/{budi}", json={"kpj": KPJ}, headers=branch.headers
    )
    assert taken.status_code == 409 and taken.json()["code"] == "kpj_taken"
    assert await kpj_of(session, budi) is None

    cleared = await client.patch(
        f"/v1/registrations/{ani}", json={"kpj": None}, headers=branch.headers
    )
    assert cleared.status_code == 200 and cleared.json()["kpj"] is None
    audit = await session.scalar(
        text("SELECT count(*) FROM audit_log WHERE action = 'registration.set_kpj'")
    )
    assert audit == 3


async def test_kpj_format_and_bad_requests(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (ani, *_) = await setup(client, session)
    for body in (
        {"kpj": "2401234567"},
        {"kpj": "240123456789"},
        {"kpj": "2401234567x"},
        {"kpj": "２４０１２３４５６７８"},
        {"kpj": 24012345678},
        {"kpj": ["24012345678"]},
    ):
        response = await client.patch(f"/v1/registrations/{ani}", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert response.json()["code"] == "invalid_kpj", body
    for body in ({}, {"kpj": KPJ, "full_name": "X"}):
        response = await client.patch(f"/v1/registrations/{ani}", json=body, headers=ADMIN)
        assert response.status_code == 422 and response.json()["code"] == "validation_error"
    response = await client.patch("/v1/registrations/abc", json={"kpj": KPJ}, headers=ADMIN)
    assert response.status_code == 422
    response = await client.patch(
        f"/v1/registrations/{ani}",
        content=b"kpj=1",
        headers={**ADMIN, "content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert await kpj_of(session, ani) is None


async def test_who_may_set_kpj(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world, (ani, *_) = await setup(client, session)
    counterpart = await issue_key(client, world.counterpart, ["agreements:write"])
    other_branch = await issue_key(client, world.other_branch, ["agreements:write"])
    branch_reader = await issue_key(client, world.branch, ["agreements:read", "coverage:read"])
    path = f"/v1/registrations/{ani}"

    cases = [
        (counterpart, 403, "not_bpjs_branch"),
        (other_branch, 404, "registration_not_found"),
        (branch_reader, 403, "missing_scope"),
    ]
    for caller, status, code in cases:
        response = await client.patch(path, json={"kpj": KPJ}, headers=caller.headers)
        assert (response.status_code, response.json()["code"]) == (status, code)
    missing = await client.patch("/v1/registrations/999999999", json={"kpj": KPJ}, headers=ADMIN)
    assert missing.status_code == 404
    # In bulk, another party's or another branch's registrations are simply not reached.
    for caller in (counterpart, other_branch):
        response = await client.post(
            "/v1/registrations/kpj",
            json={"items": [{"nik": str(ANI), "kpj": KPJ}]},
            headers=caller.headers,
        )
        assert response.status_code == 200
        assert response.json()["results"] == [{"status": "not_found", "registrations": 0}]
    assert await kpj_of(session, ani) is None
    assert (await client.patch(path, json={"kpj": KPJ}, headers=ADMIN)).status_code == 200


async def test_database_refuses_bad_kpj(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, (ani, budi, ani_2023, _) = await setup(client, session)
    update = text("UPDATE registrations SET kpj = :kpj WHERE id = :id")
    for kpj in ("123", "2401234567x", ""):
        with pytest.raises(IntegrityError, match="ck_registrations_kpj"):
            async with session.begin_nested():
                await session.execute(update, {"kpj": kpj, "id": ani})
    await session.execute(update, {"kpj": KPJ, "id": ani})
    await session.execute(update, {"kpj": KPJ, "id": ani_2023})
    with pytest.raises(IntegrityError, match="ex_registrations_kpj_person"):
        async with session.begin_nested():
            await session.execute(update, {"kpj": KPJ, "id": budi})


async def test_bulk_kpj(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world, (ani, budi, ani_2023, citra) = await setup(client, session)
    branch = await issue_key(client, world.branch, ["agreements:write"])
    dewi = make_nik(serial=24)
    await register(session, world.mine, PPK_2023, OfficerSpec(dewi))
    await session.execute(
        text("UPDATE registrations SET kpj = '11111111111' WHERE id = :id"), {"id": citra}
    )
    items = [
        {"nik": str(ANI), "kpj": KPJ},  # updated, both registrations
        {"nik": str(CITRA), "kpj": "22222222222"},  # another branch's: not found
        {"nik": str(make_nik(serial=99)), "kpj": "33333333333"},  # nobody
        {"nik": "123", "kpj": "44444444444"},
        {"nik": str(BUDI), "kpj": "4444444444"},
        {"nik": str(BUDI), "kpj": "11111111111"},  # Citra's
        {"nik": str(dewi), "kpj": "55555555555"},
        {"nik": str(dewi), "kpj": "66666666666"},  # Dewi twice with two numbers
        {"nik": str(ANI), "kpj": KPJ},  # repeated: same answer
    ]
    response = await client.post(
        "/v1/registrations/kpj", json={"items": items}, headers=branch.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "updated",
        "not_found",
        "not_found",
        "invalid",
        "invalid",
        "taken",
        "invalid",
        "invalid",
        "updated",
    ]
    assert body["results"][0]["registrations"] == 2
    assert [r["error"]["code"] for r in body["results"] if r.get("error")] == [
        "invalid_nik",
        "invalid_kpj",
        "kpj_taken",
        "conflicting_kpj",
        "conflicting_kpj",
    ]
    assert body["counts"] == {"updated": 2, "not_found": 2, "invalid": 4, "taken": 1}
    assert [await kpj_of(session, i) for i in (ani, ani_2023, budi, citra)] == [
        KPJ,
        KPJ,
        None,
        "11111111111",
    ]
    audit = await session.scalar(
        text("SELECT count(*) FROM audit_log WHERE action = 'registration.set_kpj'")
    )
    assert audit == 2

    # Two NIKs claiming one number in the same request: neither gets it.
    clash = [{"nik": str(BUDI), "kpj": "77777777777"}, {"nik": str(dewi), "kpj": "77777777777"}]
    response = await client.post("/v1/registrations/kpj", json={"items": clash}, headers=ADMIN)
    assert [r["status"] for r in response.json()["results"]] == ["taken", "taken"]
    # Repeating the first request changes nothing more.
    again = await client.post(
        "/v1/registrations/kpj", json={"items": items[:1]}, headers=branch.headers
    )
    assert again.json()["results"] == [{"status": "updated", "registrations": 2}]
    audit_after = await session.scalar(
        text("SELECT count(*) FROM audit_log WHERE action = 'registration.set_kpj'")
    )
    assert audit_after == 2


async def test_bulk_kpj_bad_requests(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world, _ = await setup(client, session)
    reader = await issue_key(client, world.branch, ["coverage:read"])
    response = await client.post(
        "/v1/registrations/kpj", json={"items": []}, headers=reader.headers
    )
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    too_many = {"items": [{"nik": str(ANI), "kpj": KPJ}] * 10_001}
    response = await client.post("/v1/registrations/kpj", json=too_many, headers=ADMIN)
    assert response.status_code == 422 and response.json()["code"] == "too_many_items"
    for body in (
        {},
        {"items": [{"nik": str(ANI)}]},
        {"items": [{"nik": str(ANI), "kpj": KPJ, "x": 1}]},
    ):
        response = await client.post("/v1/registrations/kpj", json=body, headers=ADMIN)
        assert response.status_code == 422 and response.json()["code"] == "validation_error"
    assert (
        await session.scalar(text("SELECT count(*) FROM registrations WHERE kpj IS NOT NULL")) == 0
    )
