"""Each change writes its event in its own transaction: thin, with links, no personal data."""

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.claims.helpers import CLAIMANT_NIK, file, jkk, world
from tests.conftest import ADMIN_KEY
from tests.events.helpers import assert_no_personal_data, events_of, types
from tests.rosters.helpers import (
    PTPS_NOV_DEC,
    json_body,
    officer,
    officer_nik,
    parties,
    push,
)
from tests.seed import OfficerSpec, held_conflict, seed_registrations

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def test_claims_registrations_payments_and_the_agreement_announce_themselves(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    registration_id, nik = await w.officer()
    other_id, other_nik = await w.officer()
    [held_id] = await seed_registrations(
        session,
        agreement=w.agreement,
        role="KPPS",
        officers=[
            OfficerSpec(
                nik=int(other_nik) + 1,
                status="held",
                conflict=held_conflict(),
                conflict_registration_id=other_id,
            )
        ],
    )
    claim = await file(client, w.counterpart, jkk(registration_id))
    received = await client.post(
        f"/v1/claims/{claim['id']}/documents",
        json={"kind": claim["documents_missing"][0], "reference": "kk1.pdf"},
        headers=w.branch.headers,
    )
    assert received.status_code == 200, received.text
    moved = await client.post(
        f"/v1/claims/{claim['id']}/transitions",
        json={"to": "verified"},
        headers={**w.branch.headers, "If-Match": received.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    terminated = await client.post(
        f"/v1/registrations/{other_id}/terminate",
        json={"ended_on": "2024-11-30", "reason": "mengundurkan diri"},
        headers=ADMIN,
    )
    assert terminated.status_code == 200, terminated.text
    resolved = await client.post(
        f"/v1/registrations/{held_id}/resolve", json={"action": "reject"}, headers=ADMIN
    )
    assert resolved.status_code == 200, resolved.text
    paid = await client.post(
        f"/v1/agreements/{w.agreement.id}/payments",
        json={"amount": 16_800, "paid_on": "2024-12-05", "months": ["2024-11"], "reference": "T1"},
        headers=ADMIN,
    )
    assert paid.status_code == 201, paid.text
    ended = await client.post(
        f"/v1/agreements/{w.agreement.id}/end", json={"ended_on": "2024-12-20"}, headers=ADMIN
    )
    assert ended.status_code == 200, ended.text

    events = await events_of(session, w.agreement.id)
    assert types(events) == [
        "claim.created",
        "claim.document_received",
        "claim.status_changed",
        "registration.ended",
        "registration.resolved",
        "contribution.payment_recorded",
        "agreement.status_changed",
    ]
    created, document, status, ended_event, resolved_event, payment, agreement = (
        e["data"] for e in events
    )
    assert created["claim_id"] == claim["id"] and created["status"] == "submitted"
    assert created["links"] == {"claim": f"/v1/claims/{claim['id']}"}
    assert document["document"] == claim["documents_missing"][0]
    assert (status["from"], status["to"]) == ("submitted", "verified")
    assert ended_event == {
        "agreement_id": str(w.agreement.id),
        "registration_id": other_id,
        "status": "terminated",
        "ended_on": "2024-11-30",
        "links": {"registration": f"/v1/registrations/{other_id}"},
    }
    assert (resolved_event["action"], resolved_event["status"]) == ("reject", "rejected")
    assert (payment["amount"], payment["months"]) == (16_800, ["2024-11"])
    # The registrations the agreement's end terminated (the database's trigger) are counted in
    # its event, not announced one by one.
    assert (agreement["from"], agreement["to"], agreement["ended_on"]) == (
        "active",
        "ended",
        "2024-12-20",
    )
    assert agreement["registrations_ended"] == 1  # the officer still active
    assert_no_personal_data(
        events, nik, other_nik, CLAIMANT_NIK, "Ani Setiawan", "081234567890", "0123456789"
    )


async def test_a_roster_writes_one_batch_event_and_one_per_held_or_ended_row(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    kpu = await parties(client, session)
    bawaslu = await parties(client, session, kind="bawaslu", cohorts=(PTPS_NOV_DEC,))
    await seed_registrations(
        session,
        agreement=bawaslu.agreement,
        role="PTPS",
        officers=[OfficerSpec(nik=officer_nik(7), coverage_end=date(2024, 12, 15))],
        cohort=PTPS_NOV_DEC,
    )
    first = await push(client, kpu, json_body([officer(7), officer(8), officer(9)]))
    counts = first.json()["counts"]
    assert (counts["created"], counts["held"]) == (2, 1)
    paw = {**officer(10), "replaces_nik": officer(8)["nik"], "coverage_start": "2024-11-20"}
    second = await push(client, kpu, json_body([paw]))
    assert second.json()["counts"]["replaced"] == 1
    refused = await push(client, kpu, json_body([officer(11, nik="123")], atomic=True))
    assert refused.status_code == 422

    events = await events_of(session, kpu.agreement.id)
    assert types(events) == [
        "registration.held",
        "roster_batch.completed",
        "registration.ended",
        "roster_batch.completed",
        "roster_batch.failed",
    ]
    held, batch, replaced, _, failed = (e["data"] for e in events)
    assert held["conflict"] == {
        "body": "bawaslu",
        "role": "PTPS",
        "coverage_start": "2024-11-01",
        "coverage_end": "2024-12-15",
    }
    assert (held["status"], held["role"], held["batch_id"]) == ("held", "KPPS", first.json()["id"])
    assert held["links"]["registration"] == f"/v1/registrations/{held['registration_id']}"
    assert batch["counts"] == counts and batch["total_rows"] == 3
    assert batch["links"]["batch"] == f"/v1/roster-batches/{first.json()['id']}"
    assert (replaced["status"], replaced["ended_on"]) == ("replaced", "2024-11-19")
    assert (failed["status"], failed["error"]) == ("failed", "roster_rejected")
    assert await events_of(session, bawaslu.agreement.id) == []
    assert_no_personal_data(events, *(officer(n)["nik"] for n in range(7, 12)), "Petugas")


async def test_replace_mode_announces_each_registration_it_ends(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    p = await parties(client, session)
    await push(client, p, json_body([officer(1), officer(2)]))
    replaced = await push(client, p, json_body([officer(1)], mode="replace", as_of="2024-11-15"))
    assert replaced.json()["counts"]["terminated"] == 1
    events = await events_of(session, p.agreement.id)
    assert types(events)[-2:] == ["registration.ended", "roster_batch.completed"]
    assert (events[-2]["data"]["status"], events[-2]["data"]["ended_on"]) == (
        "terminated",
        "2024-11-14",
    )
