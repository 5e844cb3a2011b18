"""Terminating a registration: who may, which dates, which states; nothing deleted."""

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registrations.helpers import KPPS, PTPS, audit_entries, key, state, world
from tests.seed import OfficerSpec, held_conflict, make_nik, register


async def test_counterpart_terminates_an_active_registration(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    (registration_id,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik()))
    headers = await key(client, w.counterpart, "rosters:write", "registrations:read")

    response = await client.post(
        f"/v1/registrations/{registration_id}/terminate",
        json={"ended_on": "2024-11-30", "reason": "  mengundurkan diri  "},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "terminated"
    assert body["ended_on"] == "2024-11-30"
    assert body["end_reason"] == "mengundurkan diri"
    assert body["coverage_end"] == "2024-12-31"
    again = await client.get(f"/v1/registrations/{registration_id}", headers=headers)
    assert again.json() == body

    (entry,) = await audit_entries(session, registration_id)
    assert entry["action"] == "registration.terminate"
    assert str(entry["actor_organization_id"]) == w.counterpart
    assert entry["detail"] == {"agreement_id": str(w.kpu.id), "ended_on": "2024-11-30"}


async def test_branch_and_operator_may_terminate(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    w = await world(client, session)
    first, second = await register(
        session,
        w.kpu,
        KPPS,
        OfficerSpec(nik=make_nik(serial=1)),
        OfficerSpec(nik=make_nik(serial=2)),
    )
    branch = await key(client, w.branch, "agreements:write")
    # The day before coverage starts: the registration never covered a day.
    response = await client.post(
        f"/v1/registrations/{first}/terminate",
        json={"ended_on": "2024-11-14", "reason": "never served"},
        headers=branch,
    )
    assert response.status_code == 200, response.text
    assert response.json()["ended_on"] == "2024-11-14"
    response = await client.post(
        f"/v1/registrations/{second}/terminate",
        json={"ended_on": "2024-12-31", "reason": "served to the end"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert (await state(session, second))["status"] == "terminated"


async def test_only_the_right_party_and_scope(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    (registration_id,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik()))
    body = {"ended_on": "2024-11-30", "reason": "resigned"}
    url = f"/v1/registrations/{registration_id}/terminate"
    cases = [
        # No writing scope at all.
        (await key(client, w.counterpart, "registrations:read", "pii:read"), 403, "missing_scope"),
        # A party, but not in the role its scope speaks for.
        (await key(client, w.counterpart, "agreements:write"), 403, "not_agreement_party"),
        (await key(client, w.branch, "rosters:write"), 403, "not_agreement_party"),
        (
            await key(client, w.payer, "rosters:write", "agreements:write"),
            403,
            "not_agreement_party",
        ),
        # Not a party: the id does not exist for them.
        (await key(client, w.other_branch, "agreements:write"), 404, "registration_not_found"),
        (await key(client, w.outsider, "rosters:write"), 404, "registration_not_found"),
    ]
    for headers, status, code in cases:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == status, code
        assert response.json()["code"] == code
    assert (await state(session, registration_id))["status"] == "active"
    assert await audit_entries(session, registration_id) == []


async def test_bad_input_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    w = await world(client, session)
    active, terminated, held = await register(
        session,
        w.kpu,
        KPPS,
        OfficerSpec(nik=make_nik(serial=1)),
        OfficerSpec(nik=make_nik(serial=2), status="terminated", ended_on=date(2024, 11, 20)),
        OfficerSpec(
            nik=make_nik(serial=3),
            status="held",
            conflict=held_conflict(),
        ),
    )
    (rejected,) = await register(
        session, w.bawaslu, PTPS, OfficerSpec(nik=make_nik(serial=4), status="rejected")
    )
    headers = await key(client, w.counterpart, "rosters:write")

    def url(registration_id: object) -> str:
        return f"/v1/registrations/{registration_id}/terminate"

    cases = [
        # Before the day before the start (11-14): the database would refuse it too.
        (url(active), {"ended_on": "2024-11-13", "reason": "x"}, 422, "termination_date_invalid"),
        (url(active), {"ended_on": "2023-01-01", "reason": "x"}, 422, "termination_date_invalid"),
        (url(active), {"ended_on": "2025-01-01", "reason": "x"}, 422, "termination_date_invalid"),
        (url(active), {"ended_on": "2024-13-01", "reason": "x"}, 422, "validation_error"),
        (url(active), {"ended_on": "30-11-2024", "reason": "x"}, 422, "validation_error"),
        (url(active), {"ended_on": None, "reason": "x"}, 422, "validation_error"),
        (url(active), {"ended_on": "2024-11-30"}, 422, "validation_error"),
        (url(active), {"ended_on": "2024-11-30", "reason": "   "}, 422, "validation_error"),
        (url(active), {"ended_on": "2024-11-30", "reason": "x" * 501}, 422, "validation_error"),
        (url(active), {"ended_on": "2024-11-30", "reason": "x", "by": 1}, 422, "validation_error"),
        # PostgreSQL text cannot hold a NUL (22021): refused when the row is written.
        (url(active), {"ended_on": "2024-11-30", "reason": "x\x00y"}, 422, "invalid_text"),
        (url(terminated), {"ended_on": "2024-11-30", "reason": "x"}, 409, "invalid_transition"),
        (url(held), {"ended_on": "2024-11-30", "reason": "x"}, 409, "invalid_transition"),
        (url(987654321), {"ended_on": "2024-11-30", "reason": "x"}, 404, "registration_not_found"),
        (url("abc"), {"ended_on": "2024-11-30", "reason": "x"}, 422, "validation_error"),
        (url(0), {"ended_on": "2024-11-30", "reason": "x"}, 422, "validation_error"),
    ]
    for path, body, status, code in cases:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, (path, body)
    not_json = await client.post(
        url(active),
        content=b"ended_on=2024-11-30",
        headers={**headers, "content-type": "text/plain"},
    )
    assert not_json.status_code == 415

    assert (await state(session, active))["status"] == "active"
    assert (await state(session, active))["ended_on"] is None
    assert (await state(session, terminated))["ended_on"] == date(2024, 11, 20)
    assert (await state(session, held))["status"] == "held"
    for registration_id in (active, terminated, held):
        assert await audit_entries(session, registration_id) == []
    # An operator gets the same state answers: the rule is about the registration, not the caller.
    for registration_id in (terminated, rejected):
        response = await client.post(
            url(registration_id), json={"ended_on": "2024-11-30", "reason": "x"}, headers=admin
        )
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
    assert (await state(session, rejected))["status"] == "rejected"
