"""Filing claims: eligibility on the incident date, program rules, late reports, bad input."""

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.idempotency import REPLAYED_HEADER
from tests.claims.helpers import END, START, World, claimant, file, jkk, jkm, world
from tests.conftest import ADMIN_KEY
from tests.factories import issue_key
from tests.seed import held_conflict

DAY = timedelta(days=1)


def on(day: date, **overrides: Any) -> dict[str, Any]:
    """Incident on `day` at 10:00, reported the same day at 15:00."""
    return {
        "incident_date": day.isoformat(),
        "incident_at": "10:00:00",
        "reported_at": f"{day.isoformat()}T15:00:00+07:00",
        **overrides,
    }


async def claim_count(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM claims")) or 0)


@pytest.fixture
async def w(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


async def test_counterpart_files_a_jkk_claim(client: httpx.AsyncClient, w: World) -> None:
    registration_id, nik = await w.officer()
    response = await client.post(
        "/v1/claims",
        json=jkk(registration_id, amounts_claimed={"medical": 3_000_000, "transport": 0}),
        headers=w.counterpart.headers,
    )
    assert response.status_code == 201, response.text
    claim = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/claims/{claim['id']}"
    assert claim["status"] == "submitted" and claim["version"] == 1
    assert claim["registration_id"] == registration_id and claim["nik"] == nik
    assert claim["agreement_id"] == str(w.agreement.id)
    assert claim["outcome"] == "treatment" and claim["warnings"] == []
    assert claim["declared_wage"] == 1_000_000
    assert [line["code"] for line in claim["benefits"]] == ["JKK_MEDICAL"]
    assert claim["totals"]["payable_now"] == 3_000_000
    assert claim["documents_missing"] == [
        "kk1",
        "kk2",
        "chronology",
        "duty_letter",
        "attendance_record",
        "medical_receipts",
    ]
    [event] = claim["history"]
    assert event["from_status"] is None and event["to_status"] == "submitted"
    assert event["actor_key_id"] == w.counterpart.key_id
    assert event["actor_organization_id"] == w.counterpart.organization_id


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (START, None),
        (END, None),
        (START - DAY, "not_started"),
        (END + DAY, "ended"),
    ],
    ids=["first-day", "last-day", "day-before", "day-after"],
)
@pytest.mark.parametrize("by", ["registration_id", "nik"])
async def test_coverage_boundaries(
    client: httpx.AsyncClient, w: World, day: date, reason: str | None, by: str
) -> None:
    registration_id, nik = await w.officer()
    body = jkk(registration_id, **on(day))
    if by == "nik":
        del body["registration_id"]
        body["nik"] = nik
    response = await client.post("/v1/claims", json=body, headers=w.payer.headers)
    if reason is None:
        assert response.status_code == 201, response.text
        assert response.json()["registration_id"] == registration_id
    else:
        assert response.status_code == 422, response.text
        problem = response.json()
        assert (problem["code"], problem["reason"]) == ("not_covered", reason)


async def test_by_nik_picks_the_registration_covering_the_day(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    # The same person terminated in one cohort and registered again later in another.
    first, nik = await w.officer(coverage_end=date(2024, 11, 30))
    second = await session.scalar(
        text(
            "INSERT INTO registrations (nik, agreement_id, cohort_id, role_code, full_name, "
            "birth_date, region_code, coverage_start, coverage_end) "
            "SELECT nik, agreement_id, :cohort, 'PPS', full_name, birth_date, region_code, "
            "'2024-12-01', '2024-12-31' FROM registrations WHERE id = :id RETURNING id"
        ),
        {"id": first, "cohort": w.agreement.cohorts["PPS"]},
    )
    body = jkk(0, **on(date(2024, 12, 5)))
    del body["registration_id"]
    body["nik"] = nik
    claim = await file(client, w.counterpart, body)
    assert claim["registration_id"] == second
    assert claim["declared_wage"] == 2_200_000  # the PPS cohort's wage


async def test_terminated_registration_covers_until_it_ended(
    client: httpx.AsyncClient, w: World
) -> None:
    registration_id, _ = await w.officer(status="terminated", ended_on=date(2024, 11, 20))
    await file(client, w.counterpart, jkk(registration_id, **on(date(2024, 11, 20))))
    problem = await file(
        client,
        w.counterpart,
        jkk(registration_id, **on(date(2024, 11, 21), incident_type="commuting_accident")),
        422,
    )
    assert (problem["code"], problem["reason"]) == ("not_covered", "terminated")


async def test_held_and_rejected_registrations_cover_nothing(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    conflict = held_conflict()
    held, _ = await w.officer(status="held", conflict=conflict)
    problem = await file(client, w.counterpart, jkk(held), 422)
    assert (problem["code"], problem["reason"]) == ("not_covered", "held")
    rejected, nik = await w.officer(status="rejected", conflict=conflict)
    problem = await file(client, w.counterpart, jkk(rejected), 422)
    assert (problem["code"], problem["reason"]) == ("not_covered", "not_registered")
    body = jkk(0)
    del body["registration_id"]
    body["nik"] = nik
    problem = await file(client, w.counterpart, body, 422)
    assert (problem["code"], problem["reason"]) == ("not_covered", "not_registered")
    assert await claim_count(session) == 0


async def test_unknown_nik_is_not_registered(client: httpx.AsyncClient, w: World) -> None:
    body = jkk(0)
    del body["registration_id"]
    body["nik"] = "1209181705909999"
    problem = await file(client, w.counterpart, body, 422)
    assert (problem["code"], problem["reason"]) == ("not_covered", "not_registered")


async def test_program_not_in_the_agreement(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    only_jkk = await world(client, session, programs=("JKK",))
    registration_id, _ = await only_jkk.officer()
    problem = await file(client, only_jkk.counterpart, jkm(registration_id), 422)
    assert (problem["code"], problem["reason"]) == ("not_covered", "program_not_covered")
    await file(client, only_jkk.counterpart, jkk(registration_id))


@pytest.mark.parametrize(
    "incident_type", ["work_accident", "commuting_accident", "occupational_disease"]
)
async def test_jkm_for_a_work_death_is_use_jkk(
    client: httpx.AsyncClient, w: World, session: AsyncSession, incident_type: str
) -> None:
    registration_id, _ = await w.officer()
    problem = await file(
        client, w.counterpart, jkm(registration_id, incident_type=incident_type), 422
    )
    assert problem["code"] == "use_jkk"
    assert await claim_count(session) == 0


async def test_jkk_for_a_death_not_caused_by_work_is_use_jkm(
    client: httpx.AsyncClient, w: World
) -> None:
    registration_id, _ = await w.officer()
    body = jkk(registration_id, incident_type="death", outcome="death", claimant=jkm(0)["claimant"])
    problem = await file(client, w.counterpart, body, 422)
    assert problem["code"] == "use_jkm"


@pytest.mark.parametrize(
    ("incident_at", "reported_at", "late"),
    [
        ("21:30:00", "2024-11-29T21:30:00+07:00", False),  # exactly 48 hours
        ("21:30:00", "2024-11-29T21:31:00+07:00", True),  # 48 hours and a minute
        ("21:30:00", "2024-11-29T14:31:00Z", True),  # the same moment, in UTC
        (None, "2024-11-29T00:00:00+07:00", False),  # no time: from the start of the day
        (None, "2024-11-29T00:01:00", True),  # no offset: Asia/Jakarta
    ],
)
async def test_late_report_is_a_warning(
    client: httpx.AsyncClient, w: World, incident_at: str | None, reported_at: str, late: bool
) -> None:
    registration_id, _ = await w.officer()
    body = jkk(registration_id, incident_at=incident_at, reported_at=reported_at)
    claim = await file(client, w.counterpart, body)
    assert [warning["code"] for warning in claim["warnings"]] == (["late_report"] if late else [])
    if late:
        assert "48" in claim["warnings"][0]["detail"] or "2 x 24" in claim["warnings"][0]["detail"]


async def test_idempotent_create(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, _ = await w.officer()
    headers = {**w.counterpart.headers, "Idempotency-Key": "claim-1"}
    body = jkk(registration_id)
    first = await client.post("/v1/claims", json=body, headers=headers)
    again = await client.post("/v1/claims", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert await claim_count(session) == 1
    changed = await client.post("/v1/claims", json={**body, "place": "elsewhere"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    # Without the key the same body is a second claim for the same incident.
    duplicate = await client.post("/v1/claims", json=body, headers=w.counterpart.headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_claim"
    assert await claim_count(session) == 1


async def test_every_party_and_operators_may_file(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for headers in (w.branch.headers, w.counterpart.headers, w.payer.headers, admin):
        registration_id, _ = await w.officer()
        response = await client.post("/v1/claims", json=jkk(registration_id), headers=headers)
        assert response.status_code == 201, response.text
    assert await claim_count(session) == 4


async def test_outsiders_and_keys_without_the_scope(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, nik = await w.officer()
    problem = await file(client, w.outsider, jkk(registration_id), 404)
    assert problem["code"] == "registration_not_found"
    by_nik = jkk(0)
    del by_nik["registration_id"]
    by_nik["nik"] = nik
    problem = await file(client, w.outsider, by_nik, 422)  # nothing visible under that NIK
    assert (problem["code"], problem["reason"]) == ("not_covered", "not_registered")
    reviewer_only = await issue_key(client, w.counterpart.organization_id, ["claims:review"])
    problem = await file(client, reviewer_only, jkk(registration_id), 403)
    assert problem["code"] == "missing_scope"
    response = await client.post("/v1/claims", json=jkk(registration_id))
    assert response.status_code == 401
    assert await claim_count(session) == 0


def _without(key: str) -> Any:
    def change(body: dict[str, Any]) -> None:
        del body[key]

    return change


def _set(**values: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        body.update(values)

    return change


def _claimant(**values: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        body["claimant"] = {**body["claimant"], **values}

    return change


TOMORROW = (datetime.now() + timedelta(days=2)).date().isoformat()

BAD_INPUTS = [
    ("unknown registration", _set(registration_id=987654321), 404, "registration_not_found"),
    ("registration id too big", _set(registration_id=2**63), 422, "validation_error"),
    ("no officer", _without("registration_id"), 422, "officer_identifier"),
    ("both officer ids", _set(nik="1209181705900001"), 422, "officer_identifier"),
    ("nik not digits", _set(registration_id=None, nik="12091817059000ab"), 422, "invalid_nik"),
    ("nik too short", _set(registration_id=None, nik="1209"), 422, "validation_error"),
    ("program", _set(program="JKN"), 422, "validation_error"),
    ("incident type", _set(incident_type="fall"), 422, "validation_error"),
    ("outcome", _set(outcome="broken_leg"), 422, "validation_error"),
    ("jkk without outcome", _without("outcome"), 422, "outcome_required"),
    (
        "percent 0",
        _set(outcome="partial_disability", disability_percent=0),
        422,
        "validation_error",
    ),
    (
        "percent 101",
        _set(outcome="partial_disability", disability_percent=101),
        422,
        "validation_error",
    ),
    ("percent missing", _set(outcome="partial_disability"), 422, "disability_percent_required"),
    ("percent misplaced", _set(disability_percent=30), 422, "disability_percent_not_applicable"),
    ("months missing", _set(outcome="temporary_incapacity"), 422, "incapacity_months_required"),
    ("months misplaced", _set(incapacity_months=2), 422, "incapacity_months_not_applicable"),
    (
        "months zero",
        _set(outcome="temporary_incapacity", incapacity_months=0),
        422,
        "validation_error",
    ),
    ("children 3", _set(children_count=3), 422, "validation_error"),
    ("children without death", _set(children_count=1), 422, "children_count_not_applicable"),
    ("relation", _claimant(relation="cousin"), 422, "validation_error"),
    ("claimant nik", _claimant(nik="1209183205900001"), 422, "invalid_nik"),
    ("claimant nik number", _claimant(nik=1209181705900001), 422, "validation_error"),
    ("bank account", _claimant(bank_account="not a number"), 422, "validation_error"),
    ("unknown region", _set(place_region_code="99.99"), 422, "region_not_found"),
    ("region format", _set(place_region_code="12-09"), 422, "validation_error"),
    ("date format", _set(incident_date="27-11-2024"), 422, "validation_error"),
    ("time with offset", _set(incident_at="21:30:00+08:00"), 422, "incident_at_offset"),
    (
        "incident in future",
        _set(incident_date=TOMORROW, reported_at=f"{TOMORROW}T12:00:00+07:00"),
        422,
        "incident_in_future",
    ),
    (
        "reported before",
        _set(reported_at="2024-11-27T21:00:00+07:00"),
        422,
        "reported_before_incident",
    ),
    (
        "reported in future",
        _set(reported_at=f"{TOMORROW}T12:00:00+07:00"),
        422,
        "reported_in_future",
    ),
    ("negative cost", _set(amounts_claimed={"medical": -1}), 422, "validation_error"),
    ("unknown field", _set(severity="high"), 422, "validation_error"),
    ("empty chronology", _set(chronology="  "), 422, "validation_error"),
    ("NUL in chronology", _set(chronology="a\x00b"), 422, "validation_error"),
    ("control in place", _set(place="TPS\x07 19"), 422, "validation_error"),
    ("NUL in claimant name", _claimant(name="Ani\x00"), 422, "validation_error"),
    ("on_duty missing", _without("on_duty"), 422, "validation_error"),
]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input(
    client: httpx.AsyncClient,
    w: World,
    session: AsyncSession,
    change: Any,
    status: int,
    code: str,
) -> None:
    registration_id, _ = await w.officer()
    body = jkk(registration_id)
    change(body)
    response = await client.post("/v1/claims", json=body, headers=w.counterpart.headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert await claim_count(session) == 0


JKM_BAD_INPUTS = [
    ("jkm with a JKK outcome", _set(outcome="treatment"), "outcome_not_for_jkm"),
    ("jkm with costs", _set(amounts_claimed={"transport": 100_000}), "costs_not_for_jkm"),
    ("death claimed by self", _claimant(relation="self"), "claimant_relation_invalid"),
    ("jkm with children", _set(children_count=1), "children_count_not_applicable"),
]


@pytest.mark.parametrize(
    ("change", "code"), [case[1:] for case in JKM_BAD_INPUTS], ids=[c[0] for c in JKM_BAD_INPUTS]
)
async def test_bad_jkm_input(
    client: httpx.AsyncClient, w: World, session: AsyncSession, change: Any, code: str
) -> None:
    registration_id, _ = await w.officer()
    body = jkm(registration_id)
    change(body)
    problem = await file(client, w.counterpart, body, 422)
    assert problem["code"] == code
    assert await claim_count(session) == 0


async def test_claimant_self_is_the_officer(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, nik = await w.officer()
    self_claim = {**claimant("self"), "nik": nik}
    claim = await file(client, w.counterpart, jkk(registration_id, claimant=self_claim))
    assert claim["claimant"]["nik"] == nik and claim["claimant"]["relation"] == "self"
    other_day = {"incident_type": "commuting_accident"}
    problem = await file(
        client, w.counterpart, jkk(registration_id, claimant=claimant("self"), **other_day), 422
    )
    assert problem["code"] == "claimant_nik_mismatch"
    as_spouse = {**claimant("spouse"), "nik": nik}
    problem = await file(
        client, w.counterpart, jkk(registration_id, claimant=as_spouse, **other_day), 422
    )
    assert problem["code"] == "claimant_nik_mismatch"
    assert await claim_count(session) == 1


async def test_jkm_may_say_outcome_death(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkm(registration_id, outcome="death"))
    assert claim["outcome"] == "death" and claim["program"] == "JKM"


async def test_not_json_is_415(client: httpx.AsyncClient, w: World) -> None:
    response = await client.post(
        "/v1/claims",
        content=b"program=JKK",
        headers={**w.counterpart.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
