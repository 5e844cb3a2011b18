"""Contributions due, payments and balances, the agreement summary and the enrolment report.

Rules decided here (the issue is silent on them):
- An officer-month is a registration in a covering status (active, terminated, replaced) whose
  effective coverage touches at least one day of the month: a started month counts whole, so a
  replacement inside a month counts the leaver and the newcomer for that month. Held and
  rejected registrations never count.
- A basis-point rate is rounded half up to the rupiah per officer-month (what one officer costs
  a month), then multiplied by the officer-months; so every line is a whole multiple of the
  per-officer rate shown in `rates`, and a bill can be checked by hand.
- A payment settles the months it lists oldest first, each up to what is still outstanding;
  whatever is left (an over-payment) lands on the last listed month as a credit.
- Reading reports takes `reports:read`. Recording a payment is a write and takes
  `agreements:write`, and only the agreement's payer or BPJS branch (or an operator) may do it:
  the counterpart, when it does not pay, gets 403.
- The enrolment figure is active registrations (each filled seat once: a replaced officer's
  seat is counted through the replacement). Non-operators aggregate only over the agreements
  they are party to, as DESIGN section 3 says of everything else.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.agreements.service import get_visible_agreement
from app.contributions import repository
from app.contributions.schemas import (
    AllocationRead,
    BalanceMonth,
    BalanceRead,
    BalanceTotals,
    ClaimSummary,
    CohortRate,
    CohortSummary,
    ContributionLine,
    ContributionsRead,
    ContributionTotals,
    DistrictSummary,
    EnrolmentReport,
    EnrolmentReportTotals,
    EnrolmentRow,
    EnrolmentTotals,
    MoneySummary,
    PaymentCreate,
    PaymentRead,
    SummaryRead,
)
from app.core import audit
from app.core.auth import Principal
from app.core.clock import today
from app.core.errors import Conflict, Forbidden, Unprocessable
from app.core.pagination import Page, keyset_page
from app.models import Agreement, ContributionPayment, RegistrationStatus
from app.reference import service as reference

TERMINATED_STATUSES = frozenset({RegistrationStatus.TERMINATED, RegistrationStatus.REPLACED})


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


async def _lines(
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
    rows = await _lines(session, agreement, window)
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


def _due_by_month(rows: Iterable[Row[Any]]) -> dict[date, int]:
    due: dict[date, int] = {}
    for row in rows:
        due[row.month] = due.get(row.month, 0) + row.jkk + row.jkm
    return due


def _balance_months(due: dict[date, int], paid: dict[date, int]) -> list[BalanceMonth]:
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
    due = _due_by_month(await _lines(session, agreement, window))
    paid = await repository.paid_by_month(
        session, agreement.id, from_month=window.start, to_month=window.end
    )
    months = _balance_months(due, paid)
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


def allocate(
    amount: int, months: list[date], outstanding: dict[date, int]
) -> list[tuple[date, int]]:
    """Spread `amount` over `months` (sorted) oldest first, each up to its outstanding; the
    remainder (an over-payment) goes on the last month. Months that get nothing are left out."""
    parts: dict[date, int] = {}
    remaining = amount
    for month in months:
        take = min(remaining, max(outstanding.get(month, 0), 0))
        if take > 0:
            parts[month] = take
            remaining -= take
    if remaining > 0:
        parts[months[-1]] = parts.get(months[-1], 0) + remaining
    return sorted(parts.items())


def _payment_read(payment: ContributionPayment, allocations: list[tuple[date, int]]) -> PaymentRead:
    return PaymentRead(
        id=payment.id,
        agreement_id=payment.agreement_id,
        amount=payment.amount,
        paid_on=payment.paid_on,
        reference=payment.reference,
        months=[format_month(m) for m in payment.months],
        allocations=[AllocationRead(month=format_month(m), amount=a) for m, a in allocations],
        recorded_by_organization_id=payment.recorded_by_organization_id,
        created_at=payment.created_at,
    )


async def record_payment(
    session: AsyncSession, principal: Principal, *, agreement_id: uuid.UUID, data: PaymentCreate
) -> PaymentRead:
    agreement = await visible_agreement(session, principal, agreement_id)
    if not access.acts_as(principal, agreement.agreement, PartyRole.PAYER, PartyRole.BPJS_BRANCH):
        raise Forbidden(
            "Only the agreement's payer or its BPJS branch records payments",
            code="payment_not_allowed",
        )
    if data.paid_on > today():
        raise Unprocessable(
            "`paid_on` is in the future",
            code="paid_on_in_future",
            errors=[{"loc": ["body", "paid_on"], "code": "in_future", "msg": "after today"}],
        )
    months = [parse_month(m) for m in data.months]
    if len(set(months)) != len(months):
        raise Unprocessable(
            "A month is listed twice",
            code="duplicate_month",
            errors=[{"loc": ["body", "months"], "code": "duplicate", "msg": "listed twice"}],
        )
    months.sort()
    window = Window(months[0], months[-1])
    # Payments of one agreement wait for each other: each reads what the previous one settled.
    await repository.lock_payments(session, agreement.id)
    due = _due_by_month(await _lines(session, agreement, window))
    outside = [format_month(m) for m in months if m not in due]
    if outside:
        raise Unprocessable(
            f"No cohort of the agreement covers {', '.join(outside)}",
            code="month_outside_agreement",
            errors=[
                {"loc": ["body", "months"], "code": "outside", "msg": month} for month in outside
            ],
        )
    if await repository.payment_reference_exists(session, agreement.id, data.reference):
        raise Conflict(
            "A payment with this reference is already recorded for the agreement",
            code="payment_reference_exists",
        )
    paid = await repository.paid_by_month(
        session, agreement.id, from_month=window.start, to_month=window.end
    )
    outstanding = {month: due[month] - paid.get(month, 0) for month in months}
    allocations = allocate(data.amount, months, outstanding)
    payment = await repository.insert_payment(
        session,
        agreement_id=agreement.id,
        amount=data.amount,
        paid_on=data.paid_on,
        reference=data.reference,
        months=months,
        organization_id=principal.organization_id,
        key_id=principal.key_id,
        allocations=allocations,
    )
    audit.record(
        session,
        principal,
        action="contribution_payment.create",
        entity_type="contribution_payment",
        entity_id=payment.id,
        detail={
            "agreement_id": str(agreement.id),
            "amount": data.amount,
            "months": [format_month(m) for m in months],
        },
    )
    return _payment_read(payment, allocations)


async def list_payments(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[PaymentRead]:
    agreement = await visible_agreement(session, principal, agreement_id)
    rows, next_cursor = await keyset_page(
        session,
        repository.payments_query(agreement.id),
        keys=[ContributionPayment.paid_on, ContributionPayment.id],
        limit=limit,
        cursor=cursor,
    )
    payments: list[ContributionPayment] = [row[0] for row in rows]
    allocations = await repository.allocations_of(session, [p.id for p in payments])
    return Page(
        items=[_payment_read(p, allocations.get(p.id, [])) for p in payments],
        next_cursor=next_cursor,
    )


def percentage(part: int, whole: int, places: str = "0.1") -> float | None:
    if whole <= 0:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal(places), ROUND_HALF_UP))


def ratio(part: int, whole: int) -> float | None:
    if whole <= 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


@dataclass
class _Counts:
    active: int = 0
    held: int = 0
    terminated: int = 0
    rejected: int = 0

    def add(self, status: str, n: int) -> None:
        if status in TERMINATED_STATUSES:
            self.terminated += n
        elif status in ("active", "held", "rejected"):
            setattr(self, status, getattr(self, status) + n)


async def get_summary(
    session: AsyncSession, principal: Principal, *, agreement_id: uuid.UUID
) -> tuple[VisibleAgreement, SummaryRead]:
    agreement = await visible_agreement(session, principal, agreement_id)
    cohorts = await repository.cohorts_of(session, agreement.id)
    by_cohort: dict[uuid.UUID, _Counts] = {c.id: _Counts() for c in cohorts}
    by_district: dict[str, tuple[str | None, _Counts]] = {}
    for row in await repository.status_counts(session, agreement.id):
        if row.by_district:
            by_district.setdefault(row.district, (row.district_name, _Counts()))[1].add(
                row.status, row.n
            )
        else:
            by_cohort.setdefault(row.cohort_id, _Counts()).add(row.status, row.n)
    cohort_summaries = [
        CohortSummary(
            cohort_id=c.id,
            role=c.role_code,
            coverage_start=c.coverage_start,
            coverage_end=c.coverage_end,
            planned=c.planned_headcount,
            active=by_cohort[c.id].active,
            held=by_cohort[c.id].held,
            terminated=by_cohort[c.id].terminated,
            rejected=by_cohort[c.id].rejected,
            percentage=percentage(by_cohort[c.id].active, c.planned_headcount),
        )
        for c in cohorts
    ]
    planned = sum(c.planned_headcount for c in cohorts)
    total = _Counts()
    for counts in by_cohort.values():
        for status in ("active", "held", "terminated", "rejected"):
            setattr(total, status, getattr(total, status) + getattr(counts, status))

    window = resolve_window(agreement, None, None)
    due = _due_by_month(await _lines(session, agreement, window))
    paid = await repository.paid_by_month(session, agreement.id)
    months = _balance_months(due, paid)

    return agreement, SummaryRead(
        agreement_id=agreement.id,
        number=agreement.number,
        cohorts=cohort_summaries,
        districts=[
            DistrictSummary(
                district_code=code,
                district_name=name,
                active=counts.active,
                held=counts.held,
                terminated=counts.terminated,
                rejected=counts.rejected,
            )
            for code, (name, counts) in sorted(by_district.items())
        ],
        totals=EnrolmentTotals(
            planned=planned,
            active=total.active,
            held=total.held,
            terminated=total.terminated,
            rejected=total.rejected,
            percentage=percentage(total.active, planned),
        ),
        contributions=MoneySummary(
            due=sum(m.due for m in months),
            paid=sum(m.paid for m in months),
            outstanding=sum(m.outstanding for m in months),
            credit=sum(m.credit for m in months),
        ),
        claims=await _claims_summary(session, agreement.id),
    )


async def _claims_summary(session: AsyncSession, agreement_id: uuid.UUID) -> list[ClaimSummary]:
    return [
        ClaimSummary(
            program=row.program,
            status=row.status,
            count=row.count,
            payable=row.payable,
            entitlement=row.entitlement,
        )
        for row in await repository.claims_by_status(session, agreement_id)
    ]


async def enrolment_report(
    session: AsyncSession, principal: Principal, *, election: str | None, region: str | None
) -> EnrolmentReport:
    region_name = None
    if region is not None:
        found = await reference.find_region(session, region)
        if found is None or found.level != "province":
            raise Unprocessable(
                f"No province has the code {region}",
                code="region_not_found",
                errors=[{"loc": ["query", "region"], "code": "not_found", "msg": region}],
            )
        region_name = found.name
    if election is not None and await reference.find_election(session, election) is None:
        raise Unprocessable(
            f"No election has the code {election}",
            code="election_not_found",
            errors=[{"loc": ["query", "election"], "code": "not_found", "msg": election}],
        )
    if not principal.is_operator and principal.organization_id is None:
        raise Forbidden("This key belongs to no organization", code="forbidden")
    rows = await repository.enrolment_rows(session, principal, election=election, province=region)
    report_rows = [
        EnrolmentRow(
            region_code=row.region_code,
            region_name=row.region_name,
            agreements=row.agreements,
            planned=row.planned,
            registered=row.registered,
            coverage_ratio=ratio(row.registered, row.planned),
        )
        for row in rows
    ]
    planned = sum(r.planned for r in report_rows)
    registered = sum(r.registered for r in report_rows)
    return EnrolmentReport(
        election=election,
        region_code=region,
        region_name=region_name,
        rows=report_rows,
        totals=EnrolmentReportTotals(
            agreements=sum(r.agreements for r in report_rows),
            planned=planned,
            registered=registered,
            coverage_ratio=ratio(registered, planned),
        ),
    )
