"""The agreement summary (enrolment against plan, money, claims) and the enrolment report.

The enrolment figure is active registrations (each filled seat once: a replaced officer's seat
is counted through the replacement). Non-operators aggregate only over the agreements they are
party to, as DESIGN section 3 says of everything else.
"""

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.contributions import repository, service
from app.contributions.schemas import (
    ClaimTotals,
    CohortSummary,
    DistrictSummary,
    EnrolmentReport,
    EnrolmentReportTotals,
    EnrolmentRow,
    EnrolmentTotals,
    MoneySummary,
    SummaryRead,
)
from app.core.auth import Principal
from app.core.errors import Forbidden, Unprocessable
from app.models import RegistrationStatus
from app.reference import service as reference

TERMINATED_STATUSES = frozenset({RegistrationStatus.TERMINATED, RegistrationStatus.REPLACED})


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
) -> tuple[service.VisibleAgreement, SummaryRead]:
    agreement = await service.visible_agreement(session, principal, agreement_id)
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

    window = service.resolve_window(agreement, None, None)
    due = service.due_by_month(await service.due_lines(session, agreement, window))
    paid = await repository.paid_by_month(session, agreement.id)
    months = service.balance_months(due, paid)

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


async def _claims_summary(session: AsyncSession, agreement_id: uuid.UUID) -> list[ClaimTotals]:
    return [
        ClaimTotals(
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
