"""benefits.py over PP 82/2019 schedule lines, checked against arithmetic done by hand."""

from decimal import Decimal

import pytest

from app.claims.benefits import (
    Benefits,
    Incident,
    ScheduleError,
    ScheduleLine,
    compute,
)

PP82 = "PP 82/2019"


def line(
    id: int,
    program: str,
    code: str,
    calculation: str,
    applies_to: str,
    *,
    amount: int | None = None,
    multiplier: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> ScheduleLine:
    return ScheduleLine(
        id=id,
        program=program,
        code=code,
        name=code.lower(),
        calculation=calculation,
        applies_to=applies_to,
        amount=amount,
        multiplier=Decimal(multiplier) if multiplier is not None else None,
        minimum=minimum,
        maximum=maximum,
        legal_basis=PP82,
    )


# The lines as the reference migration seeds them (multipliers as Numeric(8, 4) returns them).
SCHEDULE = [
    line(1, "JKM", "JKM_LUMP_SUM", "fixed", "death", amount=20_000_000),
    line(2, "JKM", "JKM_PERIODIC", "fixed", "death", amount=12_000_000),
    line(3, "JKM", "JKM_FUNERAL", "fixed", "death", amount=10_000_000),
    line(4, "JKK", "JKK_MEDICAL", "as_claimed", "any"),
    line(5, "JKK", "JKK_TRANSPORT", "as_claimed", "any", maximum=5_000_000),
    line(
        6,
        "JKK",
        "JKK_TEMPORARY_INCAPACITY_FIRST_12",
        "wage_percent_monthly",
        "temporary_incapacity",
        multiplier="1.0000",
    ),
    line(
        7,
        "JKK",
        "JKK_TEMPORARY_INCAPACITY_AFTER_12",
        "wage_percent_monthly",
        "temporary_incapacity",
        multiplier="0.5000",
    ),
    line(
        8,
        "JKK",
        "JKK_PARTIAL_DISABILITY",
        "wage_multiple",
        "partial_disability",
        multiplier="80.0000",
    ),
    line(
        9,
        "JKK",
        "JKK_TOTAL_DISABILITY",
        "wage_multiple",
        "total_permanent_disability",
        multiplier="56.0000",
    ),
    line(
        10,
        "JKK",
        "JKK_TOTAL_DISABILITY_PERIODIC",
        "fixed",
        "total_permanent_disability",
        amount=12_000_000,
    ),
    line(
        11, "JKK", "JKK_DEATH", "wage_multiple", "death", multiplier="48.0000", minimum=20_000_000
    ),
    line(12, "JKK", "JKK_DEATH_FUNERAL", "fixed", "death", amount=10_000_000),
    line(13, "JKK", "JKK_DEATH_PERIODIC", "fixed", "death", amount=12_000_000),
    line(14, "JKK", "JKK_SCHOLARSHIP", "entitlement", "death", maximum=174_000_000),
]


def amounts(benefits: Benefits) -> dict[str, int]:
    return {item.code: item.amount for item in benefits.lines}


def arithmetic(benefits: Benefits) -> dict[str, str]:
    return {item.code: item.arithmetic for item in benefits.lines}


@pytest.mark.parametrize("wage", [1_000_000, 2_200_000])
def test_jkm_is_42_million_whatever_the_wage(wage: int) -> None:
    benefits = compute(SCHEDULE, Incident(program="JKM", outcome="death", declared_wage=wage))
    assert amounts(benefits) == {
        "JKM_LUMP_SUM": 20_000_000,
        "JKM_PERIODIC": 12_000_000,
        "JKM_FUNERAL": 10_000_000,
    }
    assert benefits.payable_now == 42_000_000 and benefits.entitlement == 0
    assert benefits.arithmetic == "20,000,000 + 12,000,000 + 10,000,000 = 42,000,000 payable now"
    assert all(item.payable_now and item.legal_basis == PP82 for item in benefits.lines)


@pytest.mark.parametrize(
    ("wage", "death", "text"),
    [
        # 48 x 1,000,000 = 48,000,000 (above the 20,000,000 minimum)
        (1_000_000, 48_000_000, "48 x 1,000,000 = 48,000,000; minimum 20,000,000"),
        # 48 x 2,200,000 = 105,600,000
        (2_200_000, 105_600_000, "48 x 2,200,000 = 105,600,000; minimum 20,000,000"),
    ],
)
def test_jkk_death_with_two_children(wage: int, death: int, text: str) -> None:
    benefits = compute(
        SCHEDULE,
        Incident(program="JKK", outcome="death", declared_wage=wage, children_count=2),
    )
    assert amounts(benefits) == {
        "JKK_DEATH": death,
        "JKK_DEATH_FUNERAL": 10_000_000,
        "JKK_DEATH_PERIODIC": 12_000_000,
        "JKK_SCHOLARSHIP": 174_000_000,
    }
    assert arithmetic(benefits)["JKK_DEATH"] == text
    # 1,000,000: 48,000,000 + 22,000,000 = 70,000,000; 2,200,000: 105,600,000 + 22,000,000.
    assert benefits.payable_now == death + 22_000_000
    assert benefits.entitlement == 174_000_000
    assert benefits.total == death + 22_000_000 + 174_000_000
    scholarship = benefits.lines[-1]
    assert not scholarship.payable_now
    assert scholarship.arithmetic.startswith("2 children x up to 87,000,000 = up to 174,000,000")


def test_jkk_death_minimum_and_one_child() -> None:
    # 48 x 400,000 = 19,200,000 is below the minimum: 20,000,000.
    benefits = compute(
        SCHEDULE,
        Incident(program="JKK", outcome="death", declared_wage=400_000, children_count=1),
    )
    assert amounts(benefits)["JKK_DEATH"] == 20_000_000
    assert arithmetic(benefits)["JKK_DEATH"] == (
        "48 x 400,000 = 19,200,000; minimum 20,000,000, so 20,000,000"
    )
    assert amounts(benefits)["JKK_SCHOLARSHIP"] == 87_000_000
    assert benefits.payable_now == 42_000_000


def test_jkk_death_without_children_has_no_scholarship_line() -> None:
    benefits = compute(SCHEDULE, Incident(program="JKK", outcome="death", declared_wage=1_000_000))
    assert "JKK_SCHOLARSHIP" not in amounts(benefits)
    assert benefits.entitlement == 0


@pytest.mark.parametrize(
    ("wage", "lump"),
    [(1_000_000, 56_000_000), (2_200_000, 123_200_000)],  # 56 x wage
)
def test_total_permanent_disability(wage: int, lump: int) -> None:
    benefits = compute(
        SCHEDULE,
        Incident(program="JKK", outcome="total_permanent_disability", declared_wage=wage),
    )
    assert amounts(benefits) == {
        "JKK_TOTAL_DISABILITY": lump,
        "JKK_TOTAL_DISABILITY_PERIODIC": 12_000_000,
    }
    assert benefits.payable_now == lump + 12_000_000  # 68,000,000 and 135,200,000


@pytest.mark.parametrize(
    ("wage", "percent", "expected", "text"),
    [
        (1_000_000, 35, 28_000_000, "35% x 80 x 1,000,000 = 28,000,000"),
        (2_200_000, 35, 61_600_000, "35% x 80 x 2,200,000 = 61,600,000"),
        (1_000_000, 1, 800_000, "1% x 80 x 1,000,000 = 800,000"),
        (2_200_000, 100, 176_000_000, "100% x 80 x 2,200,000 = 176,000,000"),
    ],
)
def test_partial_disability(wage: int, percent: int, expected: int, text: str) -> None:
    benefits = compute(
        SCHEDULE,
        Incident(
            program="JKK",
            outcome="partial_disability",
            declared_wage=wage,
            disability_percent=percent,
        ),
    )
    assert amounts(benefits) == {"JKK_PARTIAL_DISABILITY": expected}
    assert arithmetic(benefits)["JKK_PARTIAL_DISABILITY"] == text


@pytest.mark.parametrize(
    ("wage", "months", "first", "after"),
    [
        (1_000_000, 15, 12_000_000, 1_500_000),  # 12 x 100% x wage + 3 x 50% x wage
        (2_200_000, 15, 26_400_000, 3_300_000),
        (1_000_000, 3, 3_000_000, None),  # within the first 12 months: no 50% line
        (2_200_000, 12, 26_400_000, None),
        (2_200_000, 13, 26_400_000, 1_100_000),
    ],
)
def test_temporary_incapacity(wage: int, months: int, first: int, after: int | None) -> None:
    benefits = compute(
        SCHEDULE,
        Incident(
            program="JKK",
            outcome="temporary_incapacity",
            declared_wage=wage,
            incapacity_months=months,
        ),
    )
    expected = {"JKK_TEMPORARY_INCAPACITY_FIRST_12": first}
    if after is not None:
        expected["JKK_TEMPORARY_INCAPACITY_AFTER_12"] = after
    assert amounts(benefits) == expected
    assert benefits.payable_now == first + (after or 0)
    texts = arithmetic(benefits)
    assert texts["JKK_TEMPORARY_INCAPACITY_FIRST_12"] == (
        f"{min(months, 12)} months x 100% x {wage:,} = {first:,}"
    )
    if after is not None:
        unit = "month" if months - 12 == 1 else "months"
        assert texts["JKK_TEMPORARY_INCAPACITY_AFTER_12"] == (
            f"{months - 12} {unit} x 50% x {wage:,} = {after:,}"
        )


@pytest.mark.parametrize("wage", [1_000_000, 2_200_000])
def test_costs_as_claimed_within_caps(wage: int) -> None:
    benefits = compute(
        SCHEDULE,
        Incident(
            program="JKK",
            outcome="treatment",
            declared_wage=wage,
            medical_claimed=45_250_000,  # medical care: no cap
            transport_claimed=6_500_000,  # transport: at most 5,000,000
        ),
    )
    assert amounts(benefits) == {"JKK_MEDICAL": 45_250_000, "JKK_TRANSPORT": 5_000_000}
    assert arithmetic(benefits)["JKK_TRANSPORT"] == (
        "transport as claimed 6,500,000; maximum 5,000,000, so 5,000,000"
    )
    assert benefits.payable_now == 50_250_000


def test_transport_under_the_cap_and_no_cost_lines_when_nothing_claimed() -> None:
    benefits = compute(
        SCHEDULE,
        Incident(
            program="JKK", outcome="treatment", declared_wage=1_000_000, transport_claimed=750_000
        ),
    )
    assert amounts(benefits) == {"JKK_TRANSPORT": 750_000}
    assert arithmetic(benefits)["JKK_TRANSPORT"] == (
        "transport as claimed 750,000; maximum 5,000,000"
    )
    nothing = compute(
        SCHEDULE, Incident(program="JKK", outcome="treatment", declared_wage=1_000_000)
    )
    assert nothing.lines == () and nothing.payable_now == 0
    assert nothing.arithmetic == "0 = 0 payable now"


def test_costs_add_to_an_outcome() -> None:
    benefits = compute(
        SCHEDULE,
        Incident(
            program="JKK",
            outcome="total_permanent_disability",
            declared_wage=2_200_000,
            medical_claimed=10_000_000,
        ),
    )
    # 10,000,000 + 123,200,000 + 12,000,000, in schedule order.
    assert [item.code for item in benefits.lines] == [
        "JKK_MEDICAL",
        "JKK_TOTAL_DISABILITY",
        "JKK_TOTAL_DISABILITY_PERIODIC",
    ]
    assert benefits.payable_now == 145_200_000


def test_amounts_follow_the_schedule_not_the_code() -> None:
    # A later regulation with other figures: the same code computes with them.
    raised = [
        line(21, "JKM", "JKM_LUMP_SUM", "fixed", "death", amount=30_000_000),
        line(22, "JKM", "JKM_FUNERAL", "fixed", "death", amount=15_000_000),
    ]
    benefits = compute(raised, Incident(program="JKM", outcome="death", declared_wage=1_000_000))
    assert benefits.payable_now == 45_000_000
    assert [item.schedule_id for item in benefits.lines] == [21, 22]


def test_lines_that_cannot_be_computed_raise() -> None:
    with pytest.raises(ScheduleError):
        compute(
            [line(1, "JKK", "JKK_ODD", "as_claimed", "any")],
            Incident(program="JKK", outcome="treatment", declared_wage=1, medical_claimed=5),
        )
    with pytest.raises(ScheduleError):
        compute(
            [line(1, "JKK", "JKK_X", "wage_multiple", "death")],
            Incident(program="JKK", outcome="death", declared_wage=1_000_000),
        )
    with pytest.raises(ScheduleError):
        compute(SCHEDULE, Incident(program="JKK", outcome="partial_disability", declared_wage=1))
    with pytest.raises(ScheduleError):
        compute(SCHEDULE, Incident(program="JKM", outcome="death", declared_wage=0))
