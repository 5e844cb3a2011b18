"""Every outcome of a row, PAW, replace mode, atomic mode, and the headcount warning."""

from datetime import date

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.rosters.helpers import (
    PTPS_NOV_DEC,
    json_body,
    officer,
    officer_nik,
    parties,
    problem_rows,
    push,
    registrations,
)
from tests.seed import CohortSpec, OfficerSpec, seed_registrations


async def test_created_then_unchanged_then_updated(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    rows = [officer(1), officer(2, phone="081200000002")]
    assert (await push(client, p, json_body(rows))).json()["counts"]["created"] == 2

    again = await push(client, p, json_body(rows))
    assert again.json()["counts"]["unchanged"] == 2

    rows[1]["phone"] = "081299999999"
    rows[1]["position"] = "ketua"
    changed = await push(client, p, json_body(rows))
    counts = changed.json()["counts"]
    assert (counts["unchanged"], counts["updated"], counts["created"]) == (1, 1, 0)
    stored = {r["nik"]: r for r in await registrations(session, p.agreement.id)}
    assert len(stored) == 2
    second = stored[int(rows[1]["nik"])]
    assert (second["phone"], second["position"]) == ("081299999999", "ketua")
    assert str(second["batch_id"]) == changed.json()["id"]


async def test_paw_replaces_an_officer_from_the_day_before(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    old, new = officer(1), officer(2)
    await push(client, p, json_body([old]))
    paw = {**new, "replaces_nik": old["nik"], "coverage_start": "2024-11-20"}
    response = await push(client, p, json_body([paw]))
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["replaced"] == 1
    stored = {r["nik"]: r for r in await registrations(session, p.agreement.id)}
    before, after = stored[int(old["nik"])], stored[int(new["nik"])]
    assert (before["status"], before["ended_on"]) == ("replaced", date(2024, 11, 19))
    assert before["end_reason"] == "replaced (PAW)"
    assert (after["status"], after["coverage_start"]) == ("active", date(2024, 11, 20))
    assert after["replaces_id"] == before["id"]
    # Sending the same PAW row again changes nothing.
    assert (await push(client, p, json_body([paw]))).json()["counts"]["unchanged"] == 1


async def test_a_row_overlapping_another_agreement_is_held(
    client: httpx.AsyncClient, session: AsyncSession
):
    kpu = await parties(client, session)
    bawaslu = await parties(client, session, kind="bawaslu", cohorts=(PTPS_NOV_DEC,))
    nik = officer_nik(7)
    (ptps_id,) = await seed_registrations(
        session,
        agreement=bawaslu.agreement,
        role="PTPS",
        officers=[OfficerSpec(nik=nik, coverage_end=date(2024, 12, 15))],
        cohort=PTPS_NOV_DEC,
    )
    await session.commit()

    response = await push(client, kpu, json_body([officer(7), officer(8)]))
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["counts"]["held"], batch["counts"]["created"]) == (1, 1)
    stored = {r["nik"]: r for r in await registrations(session, kpu.agreement.id)}
    held = stored[nik]
    assert held["status"] == "held"
    assert held["conflict_registration_id"] == ptps_id
    # The other registration's body, role and period, nothing of the other person.
    assert held["conflict"] == {
        "body": "bawaslu",
        "role": "PTPS",
        "coverage_start": "2024-11-01",
        "coverage_end": "2024-12-15",
    }
    problems = await problem_rows(client, kpu, batch["id"])
    assert [(x["row_number"], x["outcome"], x["codes"]) for x in problems] == [
        (1, "held", ["coverage_overlap"])
    ]
    assert "Bawaslu sebagai PTPS, 2024-11-01 s.d. 2024-12-15" in problems[0]["messages"][0]
    # Sent again while still held: still held, nothing new stored.
    again = await push(client, kpu, json_body([officer(7)]))
    assert again.json()["counts"]["held"] == 1
    assert len(await registrations(session, kpu.agreement.id)) == 2


async def test_replace_mode_ends_those_missing_the_day_before_the_roster_date(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    await push(client, p, json_body([officer(1), officer(2), officer(3)]))
    response = await push(
        client,
        p,
        json_body([officer(1), officer(2)], mode="replace", as_of="2024-11-15"),
    )
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["mode"] == "replace" and batch["as_of"] == "2024-11-15"
    assert (batch["counts"]["unchanged"], batch["counts"]["terminated"]) == (2, 1)
    stored = {r["nik"]: r for r in await registrations(session, p.agreement.id)}
    gone = stored[int(officer(3)["nik"])]
    assert (gone["status"], gone["ended_on"]) == ("terminated", date(2024, 11, 14))
    assert gone["end_reason"] == "missing from a replace-mode roster"
    assert stored[int(officer(1)["nik"])]["status"] == "active"

    # A rejected row still names its officer: present in the file, so not terminated.
    bad = officer(2, birth_date="1990-02-31")
    response = await push(client, p, json_body([officer(1), bad]), mode="replace")
    assert response.json()["counts"]["terminated"] == 0
    assert response.json()["counts"]["rejected"] == 1


async def test_atomic_applies_nothing_when_a_row_is_rejected(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    rows = [officer(1), officer(2, full_name=None), officer(3)]
    response = await push(client, p, json_body(rows, atomic=True))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "roster_rejected"
    assert problem["errors"] == [
        {"loc": ["row", "2"], "code": "name_missing", "msg": "Kolom full_name: Nama kosong"}
    ]
    assert problem["counts"]["rejected"] == 1 and problem["counts"]["created"] == 2
    assert await registrations(session, p.agreement.id) == []

    batch = (
        await client.get(f"/v1/roster-batches/{problem['batch_id']}", headers=p.counterpart)
    ).json()
    assert (batch["status"], batch["applied"], batch["atomic"]) == ("failed", False, True)
    assert batch["error"]["code"] == "roster_rejected"

    # Fixed, the same roster lands whole.
    rows[1]["full_name"] = "Petugas Dua"
    fixed = await push(client, p, json_body(rows), atomic=True)
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["counts"]["created"] == 3


async def test_over_the_planned_headcount_is_a_batch_warning(
    client: httpx.AsyncClient, session: AsyncSession
):
    small = CohortSpec(
        role="KPPS",
        coverage_start=date(2024, 11, 1),
        coverage_end=date(2024, 12, 31),
        planned_headcount=2,
    )
    p = await parties(client, session, cohorts=(small,))
    response = await push(client, p, json_body([officer(n) for n in range(1, 4)]))
    assert response.status_code == 201
    batch = response.json()
    assert batch["counts"]["created"] == 3
    assert batch["warnings"] == [
        {
            "code": "over_planned_headcount",
            "cohort_id": str(p.agreement.cohorts["KPPS"]),
            "role": "KPPS",
            "planned_headcount": 2,
            "registered": 3,
        }
    ]


async def test_the_row_period_chooses_the_cohort(client: httpx.AsyncClient, session: AsyncSession):
    november = CohortSpec(
        role="KPPS", coverage_start=date(2024, 11, 1), coverage_end=date(2024, 11, 30)
    )
    december = CohortSpec(
        role="KPPS", coverage_start=date(2024, 12, 1), coverage_end=date(2024, 12, 31)
    )
    p = await parties(client, session, cohorts=(november, december))
    december_id = (
        await session.execute(
            text(
                "SELECT id FROM cohorts WHERE agreement_id = :a AND coverage_start = '2024-12-01'"
            ),
            {"a": p.agreement.id},
        )
    ).scalar_one()
    row = officer(1, coverage_start="2024-12-05")
    response = await push(client, p, json_body([row]))
    assert response.json()["counts"]["created"] == 1
    (stored,) = await registrations(session, p.agreement.id)
    assert stored["cohort_id"] == december_id
    assert (stored["coverage_start"], stored["coverage_end"]) == (
        date(2024, 12, 5),
        date(2024, 12, 31),
    )
