"""Coverage checks: every reason, masking by scope and by party, batches, bad input."""

import asyncio
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import httpx
import pytest
from asyncpg.connection import LoggedQuery
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.database import driver_connection
from app.coverage.schemas import CoverageChecksRead, CoverageRead, CoverageRegistration
from app.coverage.service import CHUNK
from tests.access_log import access_log_rows
from tests.coverage.helpers import (
    KPPS_2024,
    PPK_2023,
    World,
    held_conflict,
    two_agreements,
)
from tests.factories import ADMIN, issue_key, organization_id
from tests.seed import OfficerSpec, make_nik, register, seed_agreement

COVERED = make_nik(serial=1)
TERMINATED = make_nik(serial=2)
HELD = make_nik(serial=3)
REJECTED = make_nik(serial=4)
NOBODY = make_nik(serial=5)
HELD_AND_TERMINATED = make_nik(serial=6)
PAST_AND_FUTURE = make_nik(serial=7)


async def seed_reasons(client: httpx.AsyncClient, session: AsyncSession) -> World:
    world = await two_agreements(client, session)
    await register(
        session,
        world.mine,
        KPPS_2024,
        OfficerSpec(COVERED),
        OfficerSpec(TERMINATED, status="terminated", ended_on=date(2024, 11, 15)),
        OfficerSpec(HELD, status="held", conflict=held_conflict()),
        OfficerSpec(REJECTED, status="rejected"),
        OfficerSpec(HELD_AND_TERMINATED, status="terminated", ended_on=date(2024, 11, 10)),
        OfficerSpec(HELD_AND_TERMINATED, status="held", conflict=held_conflict()),
        OfficerSpec(PAST_AND_FUTURE),
    )
    await register(session, world.mine, PPK_2023, OfficerSpec(PAST_AND_FUTURE))
    return world


async def coverage(client: httpx.AsyncClient, nik: int, on: str) -> dict[str, Any]:
    response = await client.get(f"/v1/coverage/{nik:016d}", params={"on": on}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_every_reason(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await seed_reasons(client, session)
    cases = [
        (COVERED, "2024-11-01", None),  # first day
        (COVERED, "2024-12-31", None),  # last day
        (COVERED, "2024-10-31", "not_started"),
        (COVERED, "2025-01-01", "ended"),
        (TERMINATED, "2024-11-15", None),  # its last covered day
        (TERMINATED, "2024-11-16", "terminated"),
        (TERMINATED, "2025-01-01", "ended"),
        (HELD, "2024-11-20", "held"),
        (REJECTED, "2024-11-20", "not_registered"),
        (NOBODY, "2024-11-20", "not_registered"),
        # Precedence: held over terminated, ended over not_started.
        (HELD_AND_TERMINATED, "2024-11-20", "held"),
        (PAST_AND_FUTURE, "2024-06-01", "ended"),
        (PAST_AND_FUTURE, "2024-01-15", None),
    ]
    for nik, on, reason in cases:
        body = await coverage(client, nik, on)
        assert (body["covered"], body["reason"]) == (reason is None, reason), (nik, on, body)
        assert body["on"] == on


async def test_answer_shows_the_registrations(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await seed_reasons(client, session)
    await session.execute(
        text("UPDATE registrations SET position = 'ketua' WHERE nik = :nik AND role_code = 'PPK'"),
        {"nik": PAST_AND_FUTURE},
    )
    branch_name = await session.scalar(
        text("SELECT name FROM organizations WHERE id = :id"), {"id": world.branch}
    )
    body = await coverage(client, PAST_AND_FUTURE, "2024-01-15")
    CoverageRead.model_validate(body)  # the shape the docs promise
    assert body["nik"] == f"{PAST_AND_FUTURE:016d}"
    first, second = body["registrations"]
    assert set(first) == set(CoverageRegistration.model_fields)
    assert first["role"] == "PPK" and first["covers"] is True
    assert second["role"] == "KPPS" and second["covers"] is False
    assert first["position"] == "ketua" and second["position"] == "anggota"
    assert first["bpjs_branch"] == branch_name
    assert first["agreement_number"] == "PKS/MINE/2024"
    assert first["programs"] == ["JKK", "JKM"]
    assert first["election"] == "pilkada-2024"
    assert first["coverage_start"] == "2023-11-01" and first["coverage_end"] == "2024-02-29"
    assert first["status"] == "active" and first["ended_on"] is None
    assert first["full_name"] == "Ani Setiawan" and first["birth_date"] == "1990-05-17"
    assert first["kpj"] is None and first["masked"] is False
    rejected = await coverage(client, REJECTED, "2024-11-20")
    assert rejected["registrations"] == []
    [ended_early] = (await coverage(client, TERMINATED, "2024-11-20"))["registrations"]
    assert (ended_early["status"], ended_early["ended_on"]) == ("terminated", "2024-11-15")
    assert ended_early["coverage_end"] == "2024-12-31" and ended_early["covers"] is False
    [held] = (await coverage(client, HELD, "2024-11-20"))["registrations"]
    assert (held["status"], held["covers"]) == ("held", False)


async def test_masking_by_scope_and_by_party(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await two_agreements(client, session)
    nik = make_nik(serial=42)
    [mine] = await register(session, world.mine, PPK_2023, OfficerSpec(nik, full_name="Budi"))
    [theirs] = await register(session, world.theirs, KPPS_2024, OfficerSpec(nik, full_name="Budi"))
    await session.execute(
        text("UPDATE registrations SET kpj = '24012345678' WHERE nik = :n"), {"n": nik}
    )

    party_pii = await issue_key(client, world.counterpart, ["coverage:read", "pii:read"])
    party_plain = await issue_key(client, world.counterpart, ["coverage:read"])
    other_party_pii = await issue_key(
        client, world.other_counterpart, ["coverage:read", "pii:read"]
    )
    hospital = await organization_id(client, "integrator")
    hospital_pii = await issue_key(client, hospital, ["coverage:read", "pii:read"])
    operator_pii = await issue_key(
        client, await organization_id(client, "operator"), ["coverage:read", "pii:read"]
    )
    path = f"/v1/coverage/{nik}?on=2024-11-20"

    body = (await client.get(path, headers=party_pii.headers)).json()
    assert body["nik"] == str(nik)
    shown = {r["id"]: r for r in body["registrations"]}
    assert shown[mine]["masked"] is False and shown[mine]["full_name"] == "Budi"
    assert shown[mine]["kpj"] == "24012345678" and shown[mine]["birth_date"] == "1990-05-17"
    assert shown[theirs]["masked"] is True
    assert {"full_name", "birth_date", "kpj"}.isdisjoint(shown[theirs])

    body = (await client.get(path, headers=party_plain.headers)).json()
    assert body["nik"] == f"{str(nik)[:6]}********{str(nik)[14:]}"
    assert all(r["masked"] for r in body["registrations"])
    assert all({"full_name", "birth_date", "kpj"}.isdisjoint(r) for r in body["registrations"])
    plain_text = (await client.get(path, headers=party_plain.headers)).text
    assert "Budi" not in plain_text and "1990-05-17" not in plain_text
    assert str(nik) not in plain_text and "24012345678" not in plain_text

    body = (await client.get(path, headers=other_party_pii.headers)).json()
    assert {r["id"]: r["masked"] for r in body["registrations"]} == {mine: True, theirs: False}

    # A hospital party to neither: the NIK it asked about, nobody's personal data.
    body = (await client.get(path, headers=hospital_pii.headers)).json()
    assert body["nik"] == str(nik)
    assert [r["masked"] for r in body["registrations"]] == [True, True]
    assert "Budi" not in str(body)

    for operator in (ADMIN, operator_pii.headers):
        body = (await client.get(path, headers=operator)).json()
        assert body["nik"] == str(nik)
        assert [(r["masked"], r["full_name"]) for r in body["registrations"]] == [
            (False, "Budi"),
            (False, "Budi"),
        ]

    # A batch discloses exactly what a single check does, registration by registration.
    for caller in (party_pii, party_plain, other_party_pii, hospital_pii):
        single = (await client.get(path, headers=caller.headers)).json()
        batch = await client.post(
            "/v1/coverage/checks",
            json={"on": "2024-11-20", "niks": [str(nik)]},
            headers=caller.headers,
        )
        assert batch.json()["results"] == [single]


async def test_branch_and_payer_are_parties_too(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    branch = await organization_id(client, "bpjs_branch")
    kpu = await organization_id(client, "kpu")
    government = await organization_id(client, "government")
    paid_by_government = await seed_agreement(
        session,
        bpjs_branch_id=branch,
        counterpart_id=kpu,
        payer_id=government,
        cohorts=(PPK_2023,),
    )
    nik = make_nik(serial=43)
    await register(session, paid_by_government, PPK_2023, OfficerSpec(nik, full_name="Citra"))
    path = f"/v1/coverage/{nik}?on=2024-01-15"
    for party in (branch, kpu, government):
        caller = await issue_key(client, party, ["coverage:read", "pii:read"])
        [shown] = (await client.get(path, headers=caller.headers)).json()["registrations"]
        assert (shown["masked"], shown["full_name"]) == (False, "Citra"), party
    outsider = await issue_key(
        client, await organization_id(client, "bpjs_branch"), ["coverage:read", "pii:read"]
    )
    [shown] = (await client.get(path, headers=outsider.headers)).json()["registrations"]
    assert shown["masked"] is True and "full_name" not in shown


async def test_scope_and_malformed_input(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await two_agreements(client, session)
    no_scope = await issue_key(client, world.counterpart, ["agreements:read", "pii:read"])
    response = await client.get(f"/v1/coverage/{COVERED}", headers=no_scope.headers)
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    response = await client.post(
        "/v1/coverage/checks", json={"niks": [str(COVERED)]}, headers=no_scope.headers
    )
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    assert (await client.get(f"/v1/coverage/{COVERED}")).status_code == 401

    for bad in ("12091857059", "120918570590000x", "1209185705900001" + "0", "%20"):
        response = await client.get(f"/v1/coverage/{bad}", headers=ADMIN)
        assert response.status_code == 422, bad
        assert response.json()["code"] == "invalid_nik"
    for on in ("2024-13-01", "yesterday", "20241101", ""):
        response = await client.get(f"/v1/coverage/{COVERED}", params={"on": on}, headers=ADMIN)
        assert response.status_code == 422, on
        assert response.json()["code"] == "validation_error"
    # Sixteen digits that no valid NIK has (province 00) are still looked up.
    odd = await client.get("/v1/coverage/0000000000000000", headers=ADMIN)
    assert odd.status_code == 200 and odd.json()["reason"] == "not_registered"
    assert (await access_rows_count(session)) == 1


async def access_rows_count(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM access_log")) or 0)


class _NewYearsEveInUtc(datetime):
    """A clock stopped at 2024-12-31 17:30 UTC: already 2025-01-01 00:30 in Jakarta."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> "_NewYearsEveInUtc":
        instant = cls(2024, 12, 31, 17, 30, tzinfo=UTC)
        return instant.astimezone(tz) if tz is not None else instant.replace(tzinfo=None)


async def test_default_day_is_today_in_jakarta(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_reasons(client, session)
    monkeypatch.setattr(clock, "datetime", _NewYearsEveInUtc)
    # In UTC it is still the last covered day; in Jakarta coverage has ended.
    body = (await client.get(f"/v1/coverage/{COVERED}", headers=ADMIN)).json()
    assert (body["on"], body["covered"], body["reason"]) == ("2025-01-01", False, "ended")
    batch = await client.post(
        "/v1/coverage/checks",
        json={"items": [{"nik": str(COVERED)}, {"nik": str(COVERED), "on": "2024-12-31"}]},
        headers=ADMIN,
    )
    assert batch.json()["on"] == "2025-01-01"
    results = batch.json()["results"]
    assert [(r["on"], r["reason"]) for r in results] == [
        ("2025-01-01", "ended"),
        ("2024-12-31", None),
    ]


async def test_batch_in_order_with_duplicates_and_errors(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_reasons(client, session)
    niks = [str(HELD), "123", str(COVERED), 1209185705900001, str(HELD), "1209185705900001x", None]
    response = await client.post(
        "/v1/coverage/checks", json={"on": "2024-11-20", "niks": niks}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["on"] == "2024-11-20"
    results = body["results"]
    assert [r.get("reason") for r in results] == ["held", None, None, None, "held", None, None]
    assert [r.get("covered") for r in results] == [False, None, True, None, False, None, None]
    assert [r["nik"] for r in results] == [
        str(HELD),
        "123",
        str(COVERED),
        None,
        str(HELD),
        "1209185705900001x",
        None,
    ]
    errors = [r.get("error") for r in results]
    assert [e["code"] if e else None for e in errors] == [
        None,
        "invalid_nik",
        None,
        "invalid_nik",
        None,
        "invalid_nik",
        "invalid_nik",
    ]
    assert "number" in errors[3]["msg"]
    assert results[0] == results[4]


async def test_a_batch_of_several_chunks_keeps_the_order_asked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The NIKs are read CHUNK at a time, some chunks at once: each answer still lands where its
    NIK was asked."""
    await seed_reasons(client, session)
    asked = [NOBODY, COVERED, HELD, TERMINATED]
    niks = [str(asked[index % 4]) if index % 7 else "bad" for index in range(2 * CHUNK + 500)]
    response = await client.post(
        "/v1/coverage/checks", json={"on": "2024-11-20", "niks": niks}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    expected = [
        None if nik == "bad" else {"covered": nik == str(COVERED), "nik": nik} for nik in niks
    ]
    results = response.json()["results"]
    assert [
        None if "error" in r else {"covered": r["covered"], "nik": r["nik"]} for r in results
    ] == expected


async def test_batch_with_own_dates_and_masking(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await seed_reasons(client, session)
    plain = await issue_key(client, world.counterpart, ["coverage:read"])
    items = [
        {"nik": str(COVERED), "on": "2024-10-31"},
        {"nik": str(COVERED), "on": "2024-11-01"},
        {"nik": str(COVERED)},
        {"nik": "12345"},
    ]
    response = await client.post(
        "/v1/coverage/checks", json={"on": "2025-01-01", "items": items}, headers=plain.headers
    )
    results = response.json()["results"]
    assert [(r.get("on"), r.get("reason")) for r in results] == [
        ("2024-10-31", "not_started"),
        ("2024-11-01", None),
        ("2025-01-01", "ended"),
        ("2025-01-01", None),
    ]
    assert results[0]["nik"] == f"{str(COVERED)[:6]}********{str(COVERED)[14:]}"
    assert results[3]["nik"] == "*****"
    assert "full_name" not in results[1]["registrations"][0]


async def test_a_batch_of_one_chunk_is_one_query(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await seed_reasons(client, session)
    niks = [str(make_nik(serial=serial)) for serial in range(1, 301)] + ["bad", str(HELD)]
    statements: list[str] = []

    def log(query: LoggedQuery) -> None:
        statements.append(query.query)

    # In the tests the lookup runs on the test's own connection (no pool without a lifespan).
    connection = await driver_connection(session)
    connection.add_query_logger(log)
    try:
        response = await client.post(
            "/v1/coverage/checks", json={"on": "2024-11-20", "niks": niks}, headers=ADMIN
        )
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once
    finally:
        connection.remove_query_logger(log)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 302
    lookups = [sql for sql in statements if "FROM registrations" in sql]
    assert len(lookups) == 1, statements
    assert "ANY($1" in lookups[0]


async def test_batch_bad_requests(client: httpx.AsyncClient, session: AsyncSession) -> None:
    cases = [
        ({"niks": [str(NOBODY)] * 10_001}, "too_many_niks"),
        ({"items": [{"nik": str(NOBODY)}] * 10_001}, "too_many_niks"),
        ({}, "niks_or_items"),
        ({"niks": [str(NOBODY)], "items": []}, "niks_or_items"),
        ({"on": "2024-11-01"}, "niks_or_items"),
        ({"on": "2024-02-30", "niks": []}, "validation_error"),
        ({"niks": "1209185705900001"}, "validation_error"),
        ({"niks": [], "extra": True}, "validation_error"),
        ({"items": [{"nik": str(NOBODY), "on": "someday"}]}, "validation_error"),
    ]
    for body, code in cases:
        response = await client.post("/v1/coverage/checks", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert response.json()["code"] == code, body
    for content, content_type, status in (
        (b'{"niks": ["1209185705900001"]', "application/json", 422),
        (b'["1209185705900001"]', "application/json", 422),
        (b"niks=1209185705900001", "application/x-www-form-urlencoded", 415),
    ):
        response = await client.post(
            "/v1/coverage/checks",
            content=content,
            headers={**ADMIN, "content-type": content_type},
        )
        assert response.status_code == status, content
        assert response.headers["content-type"] == "application/problem+json"
    assert await access_log_rows(session) == []  # refused requests read nothing
    empty = await client.post("/v1/coverage/checks", json={"niks": []}, headers=ADMIN)
    assert empty.status_code == 200 and empty.json()["results"] == []
    full = await client.post(
        "/v1/coverage/checks", json={"niks": [str(NOBODY)] * 10_000}, headers=ADMIN
    )
    assert full.status_code == 200 and len(full.json()["results"]) == 10_000
    CoverageChecksRead.model_validate(full.json())
