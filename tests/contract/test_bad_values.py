"""Implausible values are 422 problem documents, never a 500 and never stored: months and
dates outside 2000-2099, numbers sent as strings or booleans, a body that is not UTF-8."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.agreements.helpers import KPPS, counts, create
from tests.agreements.helpers import body as agreement_body
from tests.agreements.helpers import parties as agreement_parties
from tests.claims.helpers import jkk
from tests.claims.helpers import world as claims_world
from tests.contributions.helpers import agreement_of, count_payments
from tests.contributions.helpers import parties as money_parties
from tests.problems import assert_problem


@pytest.mark.parametrize(
    ("where", "month"),
    [
        ("contributions?from", "0000-01"),
        ("balance?to", "0000-01"),
        ("payments", "0000-01"),
        ("payments", "2100-01"),
    ],
)
async def test_a_month_outside_the_window_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, where: str, month: str
) -> None:
    who = await money_parties(client)
    agreement = await agreement_of(session, who)
    url = f"/v1/agreements/{agreement.id}/"
    if where == "payments":
        payment = {"amount": 1000, "paid_on": "2025-01-10", "reference": "R/1", "months": [month]}
        response = await client.post(url + where, json=payment, headers=who.payer_headers)
    else:
        response = await client.get(f"{url}{where}={month}", headers=who.counterpart_headers)

    assert_problem(response, 422, "validation_error")
    assert await count_payments(session, agreement) == 0


def _with(field: str, value: Any, data: dict[str, Any]) -> dict[str, Any]:
    if field in ("planned_headcount", "declared_wage"):
        data["cohorts"] = [{**KPPS, field: value}]
    elif field == "basis_points":
        data["rates"] = {"JKK": {"basis_points": value}}
    else:
        data[field] = value
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("signed_on", "0001-01-01"),
        ("signed_on", "9999-12-31"),
        ("planned_headcount", "12"),
        ("planned_headcount", True),
        ("planned_headcount", 12.0),
        ("declared_wage", "1000000"),
        ("basis_points", "100"),
        ("basis_points", False),
    ],
)
async def test_an_implausible_agreement_value_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, field: str, value: Any
) -> None:
    p = await agreement_parties(client)
    before = await counts(session)

    response = await client.post(
        "/v1/agreements", json=_with(field, value, agreement_body(p)), headers=p.branch.headers
    )

    problem = assert_problem(response, 422, "validation_error")
    assert field in {part for item in problem["errors"] for part in item["loc"]}
    assert await counts(session) == before


async def test_an_agreement_cannot_end_in_year_9999(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    p = await agreement_parties(client)
    agreement = await create(client, p)

    response = await client.post(
        f"/v1/agreements/{agreement['id']}/end",
        json={"ended_on": "9999-12-31"},
        headers={**p.branch.headers, "If-Match": f'"{agreement["version"]}"'},
    )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("voting_day", ["0001-01-01", "9999-12-31"])
async def test_an_election_day_outside_the_window_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], voting_day: str
) -> None:
    election = {"code": "pilkada-2031", "name": "Pilkada 2031", "voting_day": voting_day}

    response = await client.post("/v1/elections", json=election, headers=admin)

    assert_problem(response, 422, "validation_error")
    assert (await client.get("/v1/elections/pilkada-2031", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("incapacity_months", "3"),
        ("incapacity_months", True),
        ("on_duty", "true"),
        ("incident_date", "0001-11-27"),
        ("amounts_claimed", {"medical": "2500000"}),
    ],
)
async def test_an_implausible_claim_value_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, field: str, value: Any
) -> None:
    claims = await claims_world(client, session)
    registration_id, _ = await claims.officer()
    body = jkk(registration_id, outcome="temporary_incapacity", incapacity_months=3)

    response = await client.post(
        "/v1/claims", json={**body, field: value}, headers=claims.counterpart.headers
    )

    problem = assert_problem(response, 422, "validation_error")
    assert field in {part for item in problem["errors"] for part in item["loc"]}
    listed = await client.get("/v1/claims", headers=claims.branch.headers)
    assert listed.json()["items"] == []
