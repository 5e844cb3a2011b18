"""Every bad input of every agreement endpoint: its status, its code, and nothing written."""

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.checks import election_window
from tests.agreements.helpers import KPPS, PPK, Parties, body, counts, create
from tests.problems import assert_problem

UNKNOWN = str(uuid.uuid4())


def bad_bodies(p: Parties) -> list[tuple[str, dict[str, Any], int, str]]:
    """(case, body, status, code) for a create by an operator."""
    return [
        ("unknown counterpart", body(p, counterpart_id=UNKNOWN), 422, "organization_not_found"),
        ("unknown payer", body(p, payer_id=UNKNOWN), 422, "organization_not_found"),
        ("unknown branch", body(p, bpjs_branch_id=UNKNOWN), 422, "organization_not_found"),
        (
            "KPU as branch",
            body(p, bpjs_branch_id=p.bawaslu.organization_id),
            422,
            "bpjs_branch_wrong_kind",
        ),
        (
            "government as counterpart",
            body(p, counterpart_id=p.government.organization_id),
            422,
            "counterpart_wrong_kind",
        ),
        (
            "branch as counterpart",
            body(p, counterpart_id=p.branch.organization_id),
            422,
            "counterpart_wrong_kind",
        ),
        ("branch as payer", body(p, payer_id=p.branch.organization_id), 422, "payer_wrong_kind"),
        ("PTPS for KPU", body(p, cohorts=[KPPS | {"role": "PTPS"}]), 422, "role_wrong_body"),
        (
            "KPPS for Bawaslu",
            body(p, counterpart_id=p.bawaslu.organization_id, cohorts=[KPPS]),
            422,
            "role_wrong_body",
        ),
        ("unknown role", body(p, cohorts=[KPPS | {"role": "CAMAT"}]), 422, "role_not_found"),
        ("unknown election", body(p, election="pemilu-2029"), 422, "election_not_found"),
        (
            "unknown cohort election",
            body(p, cohorts=[KPPS | {"election": "pilkada-2029"}]),
            422,
            "election_not_found",
        ),
        ("unknown region", body(p, region_code="99.99"), 422, "region_not_found"),
        ("district as region", body(p, region_code="12.09.08"), 422, "region_level_invalid"),
        (
            "end before start",
            body(
                p, cohorts=[KPPS | {"coverage_start": "2024-12-31", "coverage_end": "2024-11-01"}]
            ),
            422,
            "cohort_period_invalid",
        ),
        (
            "PPK too early for Pemilu 2024",
            body(p, cohorts=[PPK | {"coverage_start": "2022-08-13"}]),
            422,
            "cohort_outside_election_window",
        ),
        (
            "KPPS too late for Pilkada 2024",
            body(p, cohorts=[KPPS | {"coverage_end": "2025-05-28"}]),
            422,
            "cohort_outside_election_window",
        ),
        (
            "overlapping KPPS cohorts",
            body(
                p,
                cohorts=[
                    KPPS,
                    KPPS | {"coverage_start": "2024-12-31", "coverage_end": "2025-01-15"},
                ],
            ),
            409,
            "cohort_overlaps",
        ),
        (
            "rate for an uncovered program",
            body(p, programs=["JKM"], rates={"JKK": {"basis_points": 100}}),
            422,
            "rate_program_not_covered",
        ),
        (
            "both basis points and flat amount",
            body(p, rates={"JKK": {"basis_points": 100, "flat_amount": 1}}),
            422,
            "validation_error",
        ),
        ("empty rate", body(p, rates={"JKK": {}}), 422, "validation_error"),
        ("unknown program", body(p, programs=["JKK", "JKN"]), 422, "validation_error"),
        ("repeated program", body(p, programs=["JKK", "JKK"]), 422, "validation_error"),
        ("no program", body(p, programs=[]), 422, "validation_error"),
        (
            "rate over 100%",
            body(p, rates={"JKK": {"basis_points": 10001}}),
            422,
            "validation_error",
        ),
        (
            "negative headcount",
            body(p, cohorts=[KPPS | {"planned_headcount": -1}]),
            422,
            "validation_error",
        ),
        ("zero wage", body(p, cohorts=[KPPS | {"declared_wage": 0}]), 422, "validation_error"),
        ("unknown field", body(p, colour="red"), 422, "validation_error"),
        ("empty number", body(p, number="  "), 422, "validation_error"),
        ("malformed region", body(p, region_code="12-09"), 422, "validation_error"),
        ("bad date", body(p, signed_on="11/11/2024"), 422, "validation_error"),
        ("NUL in number", body(p, number="PKS\u0000/1"), 422, "validation_error"),
        ("control char in place", body(p, signed_place="Aula\u0007"), 422, "validation_error"),
        ("NUL in election", body(p, election="pilkada\u0000"), 422, "validation_error"),
        ("NUL in role", body(p, cohorts=[KPPS | {"role": "KP\u0000PS"}]), 422, "validation_error"),
    ]


async def test_bad_create_bodies(
    client: httpx.AsyncClient, p: Parties, admin: dict[str, str], session: AsyncSession
) -> None:
    before = await counts(session)
    for case, data, status, code in bad_bodies(p):
        response = await client.post("/v1/agreements", json=data, headers=admin)
        problem = assert_problem(response, status, code)
        assert problem["detail"], case
    assert await counts(session) == before


async def test_problem_names_the_field(
    client: httpx.AsyncClient, p: Parties, admin: dict[str, str]
) -> None:
    cohorts = [PPK, KPPS | {"role": "PTPS"}]
    problem = assert_problem(
        await client.post("/v1/agreements", json=body(p, cohorts=cohorts), headers=admin),
        422,
        "role_wrong_body",
    )
    assert problem["errors"][0]["loc"] == ["body", "cohorts", "1", "role"]


async def test_duplicate_number(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    await create(client, p, number="PKS/DUP")
    before = await counts(session)
    response = await client.post(
        "/v1/agreements", json=body(p, number="PKS/DUP"), headers=p.branch.headers
    )
    assert_problem(response, 409, "agreement_number_exists")
    assert await counts(session) == before


def test_election_window() -> None:
    assert election_window(date(2024, 2, 14)) == (date(2022, 8, 14), date(2024, 8, 14))
    assert election_window(date(2024, 11, 27)) == (date(2023, 5, 27), date(2025, 5, 27))
    assert election_window(date(2024, 8, 31)) == (date(2023, 2, 28), date(2025, 2, 28))


@pytest.mark.parametrize(
    ("start", "end"),
    [("2023-01-01", "2024-04-30"), ("2022-08-14", "2024-08-14")],
)
async def test_window_edges_accepted(
    client: httpx.AsyncClient, p: Parties, start: str, end: str
) -> None:
    """PPK for Pemilu 2024 served from January 2023 to April 2024; the edges are inside."""
    cohort = PPK | {"coverage_start": start, "coverage_end": end}
    data = await create(client, p, cohorts=[cohort])
    assert data["cohorts"][0]["coverage_start"] == start


async def test_tenaga_pendukung_serves_either_body(client: httpx.AsyncClient, p: Parties) -> None:
    support = KPPS | {"role": "TENAGA_PENDUKUNG"}
    await create(client, p, number="PKS/KPU", cohorts=[support])
    await create(
        client, p, number="PKS/BWS", counterpart_id=p.bawaslu.organization_id, cohorts=[support]
    )


async def test_same_role_in_two_elections(client: httpx.AsyncClient, p: Parties) -> None:
    """One agreement may span two elections: KPPS for Pemilu and for Pilkada, apart in time."""
    pemilu_kpps = KPPS | {
        "election": "pemilu-2024",
        "coverage_start": "2024-01-25",
        "coverage_end": "2024-02-29",
    }
    data = await create(client, p, cohorts=[pemilu_kpps, KPPS])
    assert sorted(c["election"] for c in data["cohorts"]) == ["pemilu-2024", "pilkada-2024"]


async def test_bad_patches(client: httpx.AsyncClient, p: Parties, session: AsyncSession) -> None:
    await create(client, p, number="PKS/TAKEN")
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    headers = {**p.branch.headers, "If-Match": '"1"'}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"payer_id": p.branch.organization_id}, 422, "payer_wrong_kind"),
        ({"payer_id": UNKNOWN}, 422, "organization_not_found"),
        ({"number": "PKS/TAKEN"}, 409, "agreement_number_exists"),
        ({"region_code": "99"}, 422, "region_not_found"),
        ({"region_code": "12.09.08.2002"}, 422, "region_level_invalid"),
        (
            {"programs": ["JKM"], "rates": {"JKK": {"basis_points": 1}}},
            422,
            "rate_program_not_covered",
        ),
        ({"number": None}, 422, "validation_error"),
        ({"programs": None}, 422, "validation_error"),
        ({"counterpart_id": p.bawaslu.organization_id}, 422, "validation_error"),
        ({"status": "active"}, 422, "validation_error"),
    ]
    before = await counts(session)
    for data, status, code in cases:
        assert_problem(await client.patch(url, json=data, headers=headers), status, code)
    assert await counts(session) == before
    assert (await client.get(url, headers=headers)).json() == agreement


async def test_unknown_ids(client: httpx.AsyncClient, p: Parties) -> None:
    h = {**p.branch.headers, "If-Match": '"1"'}
    url = f"/v1/agreements/{UNKNOWN}"
    assert_problem(await client.get(url, headers=h), 404, "agreement_not_found")
    assert_problem(await client.patch(url, json={}, headers=h), 404, "agreement_not_found")
    for action in ("activate", "cancel"):
        assert_problem(await client.post(f"{url}/{action}", headers=h), 404, "agreement_not_found")
    assert_problem(
        await client.post(f"{url}/end", json={"ended_on": "2025-01-01"}, headers=h),
        404,
        "agreement_not_found",
    )
    assert_problem(
        await client.post(f"{url}/cohorts", json=KPPS, headers=h), 404, "agreement_not_found"
    )
    assert_problem(
        await client.get("/v1/agreements/not-a-uuid", headers=h), 422, "validation_error"
    )


async def test_bad_end_bodies(client: httpx.AsyncClient, p: Parties) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}/end"
    h = p.branch.headers
    await client.post(f"/v1/agreements/{agreement['id']}/activate", headers=h)
    for data in ({}, {"ended_on": "soon"}, {"ended_on": "2025-01-31", "reason": "x"}):
        assert_problem(await client.post(url, json=data, headers=h), 422, "validation_error")
    assert_problem(
        await client.post(
            url, content=b"ended_on=2025-01-31", headers={**h, "content-type": "text/plain"}
        ),
        415,
        "unsupported_media_type",
    )
