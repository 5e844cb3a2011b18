"""Benefit amounts through the API, for declared wages of 1,000,000 and 2,200,000, against
arithmetic done by hand; and amounts following the schedule table, not the code."""

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.claims.helpers import World, claimant, file, jkk, jkm, world

WAGES = [1_000_000, 2_200_000]
PP82 = "PP 82/2019 (perubahan PP 44/2015), Lampiran"


@pytest.fixture
async def w(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


def lines(claim: dict[str, Any]) -> dict[str, int]:
    return {line["code"]: line["amount"] for line in claim["benefits"]}


def texts(claim: dict[str, Any]) -> dict[str, str]:
    return {line["code"]: line["arithmetic"] for line in claim["benefits"]}


def totals(claim: dict[str, Any]) -> tuple[int, int, int]:
    t = claim["totals"]
    return t["payable_now"], t["entitlement"], t["total"]


@pytest.mark.parametrize("wage", WAGES)
async def test_jkm(client: httpx.AsyncClient, w: World, wage: int) -> None:
    registration_id, _ = await w.officer(wage=wage)
    claim = await file(client, w.counterpart, jkm(registration_id))
    assert claim["declared_wage"] == wage
    assert lines(claim) == {
        "JKM_LUMP_SUM": 20_000_000,
        "JKM_PERIODIC": 12_000_000,
        "JKM_FUNERAL": 10_000_000,
    }
    assert totals(claim) == (42_000_000, 0, 42_000_000)
    assert claim["totals"]["arithmetic"] == (
        "20,000,000 + 12,000,000 + 10,000,000 = 42,000,000 payable now"
    )
    assert all(line["legal_basis"] == PP82 and line["payable_now"] for line in claim["benefits"])


@pytest.mark.parametrize(
    ("wage", "death", "arithmetic"),
    [
        (1_000_000, 48_000_000, "48 x 1,000,000 = 48,000,000; minimum 20,000,000"),
        (2_200_000, 105_600_000, "48 x 2,200,000 = 105,600,000; minimum 20,000,000"),
    ],
)
async def test_jkk_death_with_scholarship(
    client: httpx.AsyncClient, w: World, wage: int, death: int, arithmetic: str
) -> None:
    registration_id, _ = await w.officer(wage=wage)
    body = jkk(
        registration_id,
        outcome="death",
        children_count=2,
        claimant=claimant("spouse"),
    )
    claim = await file(client, w.counterpart, body)
    assert lines(claim) == {
        "JKK_DEATH": death,
        "JKK_DEATH_FUNERAL": 10_000_000,
        "JKK_DEATH_PERIODIC": 12_000_000,
        "JKK_SCHOLARSHIP": 174_000_000,
    }
    assert texts(claim)["JKK_DEATH"] == arithmetic
    # 48,000,000 + 10,000,000 + 12,000,000 = 70,000,000; 105,600,000 + 22,000,000 = 127,600,000
    payable = {1_000_000: 70_000_000, 2_200_000: 127_600_000}[wage]
    assert totals(claim) == (payable, 174_000_000, payable + 174_000_000)
    scholarship = claim["benefits"][-1]
    assert scholarship["payable_now"] is False and scholarship["calculation"] == "entitlement"
    assert "entitlement up to 174,000,000" in claim["totals"]["arithmetic"]


async def test_jkk_death_one_child(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer(wage=2_200_000)
    body = jkk(registration_id, outcome="death", children_count=1, claimant=claimant("child"))
    claim = await file(client, w.counterpart, body)
    assert lines(claim)["JKK_SCHOLARSHIP"] == 87_000_000
    assert totals(claim) == (127_600_000, 87_000_000, 214_600_000)


@pytest.mark.parametrize(
    ("wage", "lump"),
    [(1_000_000, 56_000_000), (2_200_000, 123_200_000)],
)
async def test_total_permanent_disability(
    client: httpx.AsyncClient, w: World, wage: int, lump: int
) -> None:
    registration_id, _ = await w.officer(wage=wage)
    claim = await file(
        client, w.counterpart, jkk(registration_id, outcome="total_permanent_disability")
    )
    assert lines(claim) == {
        "JKK_TOTAL_DISABILITY": lump,
        "JKK_TOTAL_DISABILITY_PERIODIC": 12_000_000,
    }
    assert texts(claim)["JKK_TOTAL_DISABILITY"] == f"56 x {wage:,} = {lump:,}"
    # 56,000,000 + 12,000,000 = 68,000,000; 123,200,000 + 12,000,000 = 135,200,000
    assert totals(claim)[0] == {1_000_000: 68_000_000, 2_200_000: 135_200_000}[wage]


@pytest.mark.parametrize(
    ("wage", "amount"),
    [(1_000_000, 28_000_000), (2_200_000, 61_600_000)],  # 35% x 80 x wage
)
async def test_partial_disability(
    client: httpx.AsyncClient, w: World, wage: int, amount: int
) -> None:
    registration_id, _ = await w.officer(wage=wage)
    body = jkk(registration_id, outcome="partial_disability", disability_percent=35)
    claim = await file(client, w.counterpart, body)
    assert lines(claim) == {"JKK_PARTIAL_DISABILITY": amount}
    assert texts(claim)["JKK_PARTIAL_DISABILITY"] == f"35% x 80 x {wage:,} = {amount:,}"
    assert claim["disability_percent"] == 35
    assert totals(claim) == (amount, 0, amount)


@pytest.mark.parametrize(
    ("wage", "first", "after"),
    # 12 x 100% x wage, then 3 x 50% x wage
    [(1_000_000, 12_000_000, 1_500_000), (2_200_000, 26_400_000, 3_300_000)],
)
async def test_temporary_incapacity(
    client: httpx.AsyncClient, w: World, wage: int, first: int, after: int
) -> None:
    registration_id, _ = await w.officer(wage=wage)
    body = jkk(registration_id, outcome="temporary_incapacity", incapacity_months=15)
    claim = await file(client, w.counterpart, body)
    assert lines(claim) == {
        "JKK_TEMPORARY_INCAPACITY_FIRST_12": first,
        "JKK_TEMPORARY_INCAPACITY_AFTER_12": after,
    }
    assert texts(claim) == {
        "JKK_TEMPORARY_INCAPACITY_FIRST_12": f"12 months x 100% x {wage:,} = {first:,}",
        "JKK_TEMPORARY_INCAPACITY_AFTER_12": f"3 months x 50% x {wage:,} = {after:,}",
    }
    assert totals(claim)[0] == first + after  # 13,500,000 and 29,700,000


@pytest.mark.parametrize("wage", WAGES)
async def test_medical_and_transport_within_caps(
    client: httpx.AsyncClient, w: World, wage: int
) -> None:
    registration_id, _ = await w.officer(wage=wage)
    body = jkk(
        registration_id,
        incident_type="commuting_accident",
        amounts_claimed={"medical": 45_250_000, "transport": 6_500_000},
    )
    claim = await file(client, w.counterpart, body)
    assert lines(claim) == {"JKK_MEDICAL": 45_250_000, "JKK_TRANSPORT": 5_000_000}
    assert texts(claim)["JKK_TRANSPORT"] == (
        "transport as claimed 6,500,000; maximum 5,000,000, so 5,000,000"
    )
    assert claim["amounts_claimed"] == {"medical": 45_250_000, "transport": 6_500_000}
    assert totals(claim) == (50_250_000, 0, 50_250_000)
    assert {"police_report", "medical_receipts", "transport_receipts"} <= set(
        claim["documents_missing"]
    )


async def test_amounts_come_from_the_schedule_in_force_on_the_incident_date(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    # A new funeral amount from 2024-12-01: the old line closes the day before.
    await session.execute(
        text("UPDATE benefit_schedules SET effective_to = '2024-11-30' WHERE code = 'JKM_FUNERAL'")
    )
    await session.execute(
        text(
            "INSERT INTO benefit_schedules (program, code, name, calculation, applies_to, "
            "amount, legal_basis, effective_from) VALUES ('JKM', 'JKM_FUNERAL', "
            "'Biaya pemakaman', 'fixed', 'death', 15000000, 'PP X/2024', '2024-12-01')"
        )
    )
    before, _ = await w.officer()
    after, _ = await w.officer()
    reported = "2024-12-02T08:00:00+07:00"
    old = await file(
        client, w.counterpart, jkm(before, incident_date="2024-11-30", reported_at=reported)
    )
    new = await file(
        client,
        w.counterpart,
        jkm(after, incident_date=date(2024, 12, 1).isoformat(), reported_at=reported),
    )
    assert lines(old)["JKM_FUNERAL"] == 10_000_000 and totals(old)[0] == 42_000_000
    assert lines(new)["JKM_FUNERAL"] == 15_000_000 and totals(new)[0] == 47_000_000
    assert [b["legal_basis"] for b in new["benefits"] if b["code"] == "JKM_FUNERAL"] == [
        "PP X/2024"
    ]
    # What was computed is kept: a later schedule change leaves filed claims as they were.
    response = await client.get(f"/v1/claims/{old['id']}", headers=w.branch.headers)
    assert lines(response.json())["JKM_FUNERAL"] == 10_000_000


async def test_no_schedule_in_force(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    await session.execute(
        text("UPDATE benefit_schedules SET effective_to = '2024-10-31' WHERE program = 'JKM'")
    )
    registration_id, _ = await w.officer()
    problem = await file(client, w.counterpart, jkm(registration_id), 422)
    assert problem["code"] == "benefit_schedule_missing"
