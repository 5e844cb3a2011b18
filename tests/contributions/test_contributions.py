"""Contributions due per cohort and month: officer-months, rates, windows, scoping, bad input."""

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.contributions.helpers import (
    KPPS,
    agreement_of,
    by_month,
    held,
    officer,
    officers,
    parties,
    set_rate,
)
from tests.seed import CohortSpec, seed_registrations

PPS = CohortSpec(role="PPS", coverage_start=date(2024, 10, 1), coverage_end=date(2024, 12, 31))


async def test_hand_example_25_kpps_for_two_months_at_default_rates(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who = await parties(client)
    agreement = await agreement_of(session, who)
    await seed_registrations(session, agreement=agreement, role="KPPS", officers=officers(25))

    response = await client.get(
        f"/v1/agreements/{agreement.id}/contributions", headers=who.branch_headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from_month"], body["to_month"]) == ("2024-11", "2024-12")
    assert body["rates"][0] | {"cohort_id": None} == {
        "cohort_id": None,
        "role": "KPPS",
        "declared_wage": 1_000_000,
        "jkk_per_officer_month": 10_000,
        "jkm_per_officer_month": 6_800,
    }
    months = by_month(body["lines"])
    assert months["2024-11"] | {"cohort_id": None} == {
        "cohort_id": None,
        "role": "KPPS",
        "month": "2024-11",
        "officer_months": 25,
        "jkk": 250_000,
        "jkm": 170_000,
        "total": 420_000,
    }
    # 12,465 x 2 x 16,800 = 418,824,000 is the same formula: officers x months x 16,800.
    assert body["totals"] == {
        "officer_months": 50,
        "jkk": 500_000,
        "jkm": 340_000,
        "total": 25 * 2 * 16_800,
    }


async def test_started_months_count_whole_and_statuses_count_as_the_rules_say(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who = await parties(client)
    agreement = await agreement_of(session, who)
    old, new = (
        officer(status="replaced", ended_on=date(2024, 11, 10)),
        officer(coverage_start=date(2024, 11, 11)),
    )
    await seed_registrations(
        session,
        agreement=agreement,
        role="KPPS",
        officers=[
            # 15 Nov - 3 Dec: November and December
            officer(coverage_start=date(2024, 11, 15), coverage_end=date(2024, 12, 3)),
            # a replacement inside November: the leaver and the newcomer both count November
            old,
            new,
            # terminated on 5 December: counts November and December
            officer(status="terminated", ended_on=date(2024, 12, 5)),
            # terminated on 30 November: November only
            officer(status="terminated", ended_on=date(2024, 11, 30)),
            # terminated before it started: nothing
            officer(status="terminated", ended_on=date(2024, 10, 31)),
            # only in December
            officer(coverage_start=date(2024, 12, 31)),
            # held and rejected never count
            held(),
            officer(status="rejected"),
        ],
    )

    response = await client.get(
        f"/v1/agreements/{agreement.id}/contributions", headers=who.counterpart_headers
    )

    assert response.status_code == 200, response.text
    months = by_month(response.json()["lines"])
    assert months["2024-11"]["officer_months"] == 5
    assert months["2024-12"]["officer_months"] == 4
    assert response.json()["totals"]["total"] == 9 * 16_800


async def test_flat_and_basis_point_rates_wages_rounding_and_uncovered_programs(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who = await parties(client)
    wage = CohortSpec(
        role="KPPS",
        coverage_start=date(2024, 11, 1),
        coverage_end=date(2024, 11, 30),
        declared_wage=2_200_000,
    )
    odd = CohortSpec(
        role="PPS",
        coverage_start=date(2024, 11, 1),
        coverage_end=date(2024, 11, 30),
        declared_wage=1_234_550,
    )
    agreement = await agreement_of(session, who, wage, odd)
    await set_rate(session, agreement, "JKM", basis_points=30)
    await seed_registrations(
        session, agreement=agreement, role="KPPS", officers=officers(3), cohort=wage
    )
    await seed_registrations(
        session, agreement=agreement, role="PPS", officers=officers(2), cohort=odd
    )
    jkk_only = await agreement_of(session, who, wage, programs=("JKK",))
    await seed_registrations(
        session, agreement=jkk_only, role="KPPS", officers=officers(2), cohort=wage
    )

    body = (
        await client.get(f"/v1/agreements/{agreement.id}/contributions", headers=who.payer_headers)
    ).json()
    only = (
        await client.get(f"/v1/agreements/{jkk_only.id}/contributions", headers=who.payer_headers)
    ).json()

    rates = {r["role"]: r for r in body["rates"]}
    # 100 bp of 2,200,000 = 22,000; 30 bp of 2,200,000 = 6,600
    assert (rates["KPPS"]["jkk_per_officer_month"], rates["KPPS"]["jkm_per_officer_month"]) == (
        22_000,
        6_600,
    )
    # 100 bp of 1,234,550 = 12,345.5 -> 12,346 and 30 bp = 3,703.65 -> 3,704 (half up, per
    # officer-month)
    assert (rates["PPS"]["jkk_per_officer_month"], rates["PPS"]["jkm_per_officer_month"]) == (
        12_346,
        3_704,
    )
    kpps = by_month(body["lines"])["2024-11"]
    assert (kpps["jkk"], kpps["jkm"], kpps["total"]) == (66_000, 19_800, 85_800)
    pps = by_month(body["lines"], "PPS")["2024-11"]
    assert (pps["jkk"], pps["jkm"]) == (24_692, 7_408)
    assert only["totals"] == {"officer_months": 2, "jkk": 44_000, "jkm": 0, "total": 44_000}


async def test_window_lines_per_cohort_month_including_empty_months(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who = await parties(client)
    agreement = await agreement_of(session, who, KPPS, PPS)
    await seed_registrations(
        session, agreement=agreement, role="PPS", officers=officers(2), cohort=PPS
    )
    url = f"/v1/agreements/{agreement.id}/contributions"

    whole = (await client.get(url, headers=who.branch_headers)).json()
    december = await client.get(f"{url}?from=2024-12&to=2024-12", headers=who.branch_headers)
    from_only = (await client.get(f"{url}?from=2024-12", headers=who.branch_headers)).json()

    assert (whole["from_month"], whole["to_month"]) == ("2024-10", "2024-12")
    assert [(line["month"], line["role"], line["officer_months"]) for line in whole["lines"]] == [
        ("2024-10", "PPS", 2),
        ("2024-11", "PPS", 2),
        ("2024-11", "KPPS", 0),
        ("2024-12", "PPS", 2),
        ("2024-12", "KPPS", 0),
    ]
    assert december.status_code == 200
    assert [line["month"] for line in december.json()["lines"]] == ["2024-12", "2024-12"]
    assert december.json()["totals"]["total"] == 2 * 16_800
    assert (from_only["from_month"], from_only["to_month"]) == ("2024-12", "2024-12")


async def test_bad_input_and_scoping(client: httpx.AsyncClient, session: AsyncSession) -> None:
    who = await parties(client)
    agreement = await agreement_of(session, who)
    url = f"/v1/agreements/{agreement.id}/contributions"

    for query in ("from=2024-13", "to=24-11", "from=2024-1", "from=november"):
        response = await client.get(f"{url}?{query}", headers=who.branch_headers)
        assert response.status_code == 422, query
        assert response.json()["code"] == "validation_error"
    reversed_range = await client.get(f"{url}?from=2024-12&to=2024-11", headers=who.branch_headers)
    unknown = await client.get(
        "/v1/agreements/00000000-0000-4000-8000-000000000000/contributions",
        headers=who.branch_headers,
    )
    not_a_uuid = await client.get("/v1/agreements/nope/contributions", headers=who.branch_headers)
    outsider = await client.get(url, headers=who.outsider_headers)
    no_scope = await client.get(url, headers=who.no_scope_headers)
    anonymous = await client.get(url)

    assert reversed_range.status_code == 422
    assert reversed_range.json()["code"] == "invalid_month_range"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "agreement_not_found"
    assert not_a_uuid.status_code == 422
    assert outsider.status_code == 404
    assert outsider.json() == unknown.json()
    assert no_scope.status_code == 403
    assert no_scope.json()["code"] == "missing_scope"
    assert anonymous.status_code == 401
