"""Resolving held registrations: reject, or transfer coverage from the other body's one."""

from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registrations.helpers import KPPS, PKD, PTPS, World, audit_entries, key, state, world
from tests.seed import OfficerSpec, make_nik, register

NIK = make_nik(serial=77)
CONFLICT: dict[str, object] = {
    "body": "bawaslu",
    "role": "PTPS",
    "coverage_start": "2024-11-01",
    "coverage_end": "2024-12-31",
}


async def held_for_ptps(session: AsyncSession, w: World, ptps: OfficerSpec) -> tuple[int, int]:
    """The officer's PTPS registration under Bawaslu, and a held KPPS one (Nov 15 on) under KPU."""
    (ptps_id,) = await register(session, w.bawaslu, PTPS, ptps)
    (held_id,) = await register(
        session,
        w.kpu,
        KPPS,
        OfficerSpec(
            nik=NIK, status="held", conflict=CONFLICT, conflict_registration_id=ptps_id, tps="003"
        ),
    )
    return ptps_id, held_id


def resolve(registration_id: object) -> str:
    return f"/v1/registrations/{registration_id}/resolve"


async def test_reject(client: httpx.AsyncClient, session: AsyncSession) -> None:
    w = await world(client, session)
    ptps, held = await held_for_ptps(session, w, OfficerSpec(nik=NIK))
    branch = await key(client, w.branch, "agreements:write")

    response = await client.post(
        resolve(held), json={"action": "reject", "note": "still serving as PTPS"}, headers=branch
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "rejected"
    assert body["ended_on"] is None
    assert body["conflict"] == CONFLICT
    assert (await state(session, ptps))["status"] == "active"

    (entry,) = await audit_entries(session, held)
    assert entry["action"] == "registration.resolve"
    assert str(entry["actor_organization_id"]) == w.branch
    assert entry["detail"] == {
        "action": "reject",
        "agreement_id": str(w.kpu.id),
        "conflict_registration_id": ptps,
        "note": "still serving as PTPS",
    }
    assert await audit_entries(session, ptps) == []


async def test_transfer_ends_the_other_the_day_before(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    ptps, held = await held_for_ptps(session, w, OfficerSpec(nik=NIK))
    branch = await key(client, w.branch, "agreements:write", "registrations:read")

    response = await client.post(
        resolve(held), json={"action": "transfer", "note": "moved to KPPS"}, headers=branch
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["coverage_start"] == "2024-11-15"
    # Kept for history, and never more than the other registration's body, role and period.
    assert body["conflict"] == CONFLICT
    other = await state(session, ptps)
    assert other["status"] == "terminated"
    assert other["ended_on"] == date(2024, 11, 14)
    assert other["end_reason"] == f"transferred to registration {held}"
    assert (await client.get(f"/v1/registrations/{held}", headers=branch)).json() == body

    (resolved,) = await audit_entries(session, held)
    assert resolved["action"] == "registration.resolve"
    assert resolved["detail"]["action"] == "transfer"
    assert resolved["detail"]["conflict_registration_id"] == ptps
    (ended,) = await audit_entries(session, ptps)
    assert ended["action"] == "registration.end_by_transfer"
    assert ended["actor_organization_id"] == resolved["actor_organization_id"]
    assert str(ended["actor_organization_id"]) == w.branch
    assert ended["detail"] == {
        "transferred_to_registration_id": held,
        "ended_on": "2024-11-14",
        "previous_status": "active",
        "previous_ended_on": None,
    }

    again = await client.post(resolve(held), json={"action": "transfer"}, headers=branch)
    assert again.status_code == 409
    assert again.json()["code"] == "not_held"


async def assert_unchanged(
    session: AsyncSession, before: dict[int, dict[str, Any]], *ids: int
) -> None:
    for registration_id in ids:
        assert await state(session, registration_id) == before[registration_id]
        assert await audit_entries(session, registration_id) == []


async def test_transfer_refused_while_another_still_overlaps(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    w = await world(client, session)
    # PTPS covers November; the same officer's PKD registration covers December.
    ptps, held = await held_for_ptps(
        session, w, OfficerSpec(nik=NIK, coverage_end=date(2024, 11, 30))
    )
    (pkd,) = await register(session, w.bawaslu, PKD, OfficerSpec(nik=NIK))
    before = {i: await state(session, i) for i in (ptps, held, pkd)}

    for headers in (await key(client, w.branch, "agreements:write"), admin):
        response = await client.post(resolve(held), json={"action": "transfer"}, headers=headers)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "transfer_conflict"
    await assert_unchanged(session, before, ptps, held, pkd)
    # The refusal left the transaction usable: rejecting still works.
    response = await client.post(resolve(held), json={"action": "reject"}, headers=admin)
    assert response.json()["status"] == "rejected"


async def test_transfer_refused_when_nothing_to_transfer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    branch = await key(client, w.branch, "agreements:write")
    # Terminated before the held one starts: they no longer overlap.
    ended, held = await held_for_ptps(
        session, w, OfficerSpec(nik=NIK, status="terminated", ended_on=date(2024, 11, 10))
    )
    before = {i: await state(session, i) for i in (ended, held)}
    response = await client.post(resolve(held), json={"action": "transfer"}, headers=branch)
    assert response.status_code == 409
    assert response.json()["code"] == "transfer_conflict"
    await assert_unchanged(session, before, ended, held)

    # Starts after the held one: it cannot end the day before the held one starts.
    later_nik = make_nik(serial=78)
    (later,) = await register(
        session,
        w.bawaslu,
        PTPS,
        OfficerSpec(nik=later_nik, coverage_start=date(2024, 11, 20)),
    )
    (held_later,) = await register(
        session,
        w.kpu,
        KPPS,
        OfficerSpec(
            nik=later_nik, status="held", conflict=CONFLICT, conflict_registration_id=later
        ),
    )
    before = {i: await state(session, i) for i in (later, held_later)}
    response = await client.post(resolve(held_later), json={"action": "transfer"}, headers=branch)
    assert response.status_code == 409
    assert response.json()["code"] == "transfer_conflict"
    await assert_unchanged(session, before, later, held_later)


async def test_who_may_resolve_and_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    w = await world(client, session)
    ptps, held = await held_for_ptps(session, w, OfficerSpec(nik=NIK))
    (active,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=1)))
    branch = await key(client, w.branch, "agreements:write")
    reject = {"action": "reject"}
    no_scope = await key(client, w.branch, "claims:review", "rosters:write")
    counterpart = await key(client, w.counterpart, "agreements:write")
    payer = await key(client, w.payer, "agreements:write")
    other_branch = await key(client, w.other_branch, "agreements:write")
    outsider = await key(client, w.outsider, "agreements:write")
    cases = [
        (no_scope, held, reject, 403, "missing_scope"),
        (counterpart, held, reject, 403, "not_agreement_branch"),
        (payer, held, reject, 403, "not_agreement_branch"),
        # The branch of the other agreement is not party to this one: the id does not exist.
        (other_branch, held, reject, 404, "registration_not_found"),
        (outsider, held, reject, 404, "registration_not_found"),
        # Nor can it resolve from its side: its own PTPS registration is not held.
        (other_branch, ptps, reject, 409, "not_held"),
        (branch, active, reject, 409, "not_held"),
        (branch, 987654321, reject, 404, "registration_not_found"),
        (branch, "abc", reject, 422, "validation_error"),
        (branch, held, {"action": "approve"}, 422, "validation_error"),
        (branch, held, {}, 422, "validation_error"),
        (branch, held, {"action": "reject", "note": "x" * 1001}, 422, "validation_error"),
        (branch, held, {"action": "reject", "extra": True}, 422, "validation_error"),
        # The note goes to the audit log's jsonb, which cannot hold \u0000 (22P05); a transfer
        # has by then ended the other registration, and that is undone too.
        (branch, held, {"action": "reject", "note": "tetap\x00PTPS"}, 422, "invalid_text"),
        (branch, held, {"action": "transfer", "note": "\x00"}, 422, "invalid_text"),
    ]
    before = {i: await state(session, i) for i in (ptps, held, active)}
    for headers, registration_id, body, status, code in cases:
        response = await client.post(resolve(registration_id), json=body, headers=headers)
        assert response.status_code == status, (registration_id, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, (registration_id, body)
    await assert_unchanged(session, before, ptps, held, active)

    response = await client.post(resolve(held), json={"action": "transfer"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert (await state(session, ptps))["ended_on"] == date(2024, 11, 14)
