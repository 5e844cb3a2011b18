"""Contributions due per cohort and month, and the balance against what was paid.

Rules decided here (the issue is silent on them):
- An officer-month is a registration in a covering status (active, terminated, replaced) whose
  effective coverage touches at least one day of the month: a started month counts whole, so a
  replacement inside a month counts the leaver and the newcomer for that month. Held and
  rejected registrations never count.
- A basis-point rate is rounded half up to the rupiah per officer-month (what one officer costs
  a month), then multiplied by the officer-months; so every line is a whole multiple of the
  per-officer rate shown in `rates`, and a bill can be checked by hand.
- Reading reports takes `reports:read` (contributions/auth.py).

payments.py records payments against these figures; reports.py sums them up per agreement and
per regency.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.service import get_visible_agreement
from app.contributions import repository
from app.contributions.schemas import (
    BalanceMonth,
    BalanceRead,
    BalanceTotals,
    CohortRate,
    ContributionLine,
    ContributionsRead,
    ContributionTotals,
)
from app.core.auth import Principal
from app.core.errors import Unprocessable
from app.models import Agreement


def parse_month(value: str) -> date:
    """`YYYY-MM` (already matched by the schema's pattern) as the first day of the month."""
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def format_month(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def first_of_month(value: date) -> date:
    return value.replace(day=1)


@dataclass(frozen=True, slots=True)
class VisibleAgreement:
    """An agreement the caller may see, with the first and last day of its cohorts."""

    agreement: Agreement
    span_start: date | None
    span_end: date | None

    @property
    def id(self) -> uuid.UUID:
        return self.agreement.id

    @property
    def number(self) -> str:
        return self.agreement.number


async def visible_agreement(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID
) -> VisibleAgreement:
    """The agreement if the caller is an operator or one of its parties; 404 otherwise."""
    agreement = await get_visible_agreement(session, principal, agreement_id)
    span_start, span_end = await repository.cohort_span(session, agreement.id)
    return VisibleAgreement(agreement, span_start, span_end)


@dataclass(frozen=True, slots=True)
class Window:
    start: date | None
    end: date | None


def resolve_window(
    agreement: VisibleAgreement, from_month: str | None, to_month: str | None
) -> Window:
    """The months asked for; a missing end defaults to the agreement's cohort span."""
    start = parse_month(from_month) if from_month else None
    end = parse_month(to_month) if to_month else None
    if start and end and start > end:
        raise Unprocessable(
            "`from` must not be after `to`",
            code="invalid_month_range",
            errors=[{"loc": ["query", "from"], "code": "after_to", "msg": "from is after to"}],
        )
    if agreement.span_start is None or agreement.span_end is None:
        return Window(start, end)
    return Window(
        start or first_of_month(agreement.span_start), end or first_of_month(agreement.span_end)
    )


async def due_lines(
    session: AsyncSession, agreement: VisibleAgreement, window: Window
) -> Sequence[Row[Any]]:
    if window.start is None or window.end is None:
        return []
    return await repository.contribution_lines(
        session, agreement.id, from_month=window.start, to_month=window.end
    )


def _month_or_none(value: date | None) -> str | None:
    return format_month(value) if value else None


async def get_contributions(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    from_month: str | None,
    to_month: str | None,
) -> tuple[VisibleAgreement, ContributionsRead]:
    agreement = await visible_agreement(session, principal, agreement_id)
    window = resolve_window(agreement, from_month, to_month)
    rows = await due_lines(session, agreement, window)
    rates = await repository.cohort_rates(session, agreement.id)
    lines = [
        ContributionLine(
            cohort_id=row.cohort_id,
            role=row.role_code,
            month=format_month(row.month),
            officer_months=row.officer_months,
            jkk=row.jkk,
            jkm=row.jkm,
            total=row.jkk + row.jkm,
        )
        for row in rows
    ]
    totals = ContributionTotals(
        officer_months=sum(line.officer_months for line in lines),
        jkk=sum(line.jkk for line in lines),
        jkm=sum(line.jkm for line in lines),
        total=sum(line.total for line in lines),
    )
    return agreement, ContributionsRead(
        agreement_id=agreement.id,
        from_month=_month_or_none(window.start),
        to_month=_month_or_none(window.end),
        rates=[
            CohortRate(
                cohort_id=rate.cohort_id,
                role=rate.role_code,
                declared_wage=rate.declared_wage,
                jkk_per_officer_month=rate.jkk_rate,
                jkm_per_officer_month=rate.jkm_rate,
            )
            for rate in rates
        ],
        lines=lines,
        totals=totals,
    )


def due_by_month(rows: Iterable[Row[Any]]) -> dict[date, int]:
    due: dict[date, int] = {}
    for row in rows:
        due[row.month] = due.get(row.month, 0) + row.jkk + row.jkm
    return due


def balance_months(due: dict[date, int], paid: dict[date, int]) -> list[BalanceMonth]:
    return [
        BalanceMonth(
            month=format_month(month),
            due=due.get(month, 0),
            paid=paid.get(month, 0),
            outstanding=max(due.get(month, 0) - paid.get(month, 0), 0),
            credit=max(paid.get(month, 0) - due.get(month, 0), 0),
        )
        for month in sorted(due.keys() | paid.keys())
    ]


async def get_balance(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    from_month: str | None,
    to_month: str | None,
) -> tuple[VisibleAgreement, BalanceRead]:
    agreement = await visible_agreement(session, principal, agreement_id)
    window = resolve_window(agreement, from_month, to_month)
    due = due_by_month(await due_lines(session, agreement, window))
    paid = await repository.paid_by_month(
        session, agreement.id, from_month=window.start, to_month=window.end
    )
    months = balance_months(due, paid)
    return agreement, BalanceRead(
        agreement_id=agreement.id,
        from_month=_month_or_none(window.start),
        to_month=_month_or_none(window.end),
        months=months,
        totals=BalanceTotals(
            due=sum(m.due for m in months),
            paid=sum(m.paid for m in months),
            outstanding=sum(m.outstanding for m in months),
            credit=sum(m.credit for m in months),
        ),
    )
