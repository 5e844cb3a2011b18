"""SQL for contributions, payments, summaries and enrolment reports: set-based, one pass each."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.core.auth import Principal
from app.models import (
    COVERING_SQL,
    Cohort,
    ContributionAllocation,
    ContributionPayment,
)


async def cohort_span(
    session: AsyncSession, agreement_id: uuid.UUID
) -> tuple[date | None, date | None]:
    """The first and last day covered by the agreement's cohorts (None, None without cohorts)."""
    row = (
        await session.execute(
            select(func.min(Cohort.coverage_start), func.max(Cohort.coverage_end)).where(
                Cohort.agreement_id == agreement_id
            )
        )
    ).one()
    return row[0], row[1]


# What one officer-month of each cohort costs per program: a flat amount, or basis points of the
# cohort's declared wage rounded half up to the rupiah (all values are >= 0, so adding 5,000
# before the integer division rounds half up). A program the agreement does not cover costs 0.
COHORT_RATES_CTE = """
    cohort_rates AS (
        SELECT c.id AS cohort_id, c.role_code, c.declared_wage, c.coverage_start, c.coverage_end,
               CASE WHEN 'JKK' = ANY(a.programs) THEN COALESCE(
                   jkk.flat_amount, (jkk.basis_points::bigint * c.declared_wage + 5000) / 10000, 0)
                   ELSE 0 END AS jkk_rate,
               CASE WHEN 'JKM' = ANY(a.programs) THEN COALESCE(
                   jkm.flat_amount, (jkm.basis_points::bigint * c.declared_wage + 5000) / 10000, 0)
                   ELSE 0 END AS jkm_rate
        FROM cohorts c
        JOIN agreements a ON a.id = c.agreement_id
        LEFT JOIN agreement_rates jkk ON jkk.agreement_id = a.id AND jkk.program = 'JKK'
        LEFT JOIN agreement_rates jkm ON jkm.agreement_id = a.id AND jkm.program = 'JKM'
        WHERE c.agreement_id = :agreement_id
    )
"""


async def cohort_rates(session: AsyncSession, agreement_id: uuid.UUID) -> Sequence[Row[Any]]:
    sql = f"""
        WITH {COHORT_RATES_CTE}
        SELECT cohort_id, role_code, declared_wage, jkk_rate, jkm_rate
        FROM cohort_rates ORDER BY coverage_start, role_code, cohort_id
    """
    return (await session.execute(text(sql), {"agreement_id": agreement_id})).all()


# Officer-months per cohort and month. Registrations are first counted per distinct period
# (start, last day) in one pass over the agreement's rows (an index-only scan of
# ix_registrations_agreement_report, migration 0007), into a few hundred groups at most. The
# periods become month spans (a started month counting whole), and the months of each cohort
# inside the window are matched against those spans. The period is the `coverage` generated
# column's, [coverage_start, COALESCE(ended_on, coverage_end)]; one ended the day before it
# started covers nothing.
CONTRIBUTION_LINES_SQL = f"""
    WITH {COHORT_RATES_CTE},
    periods AS (
        SELECT cohort_id, coverage_start AS first_day,
               COALESCE(ended_on, coverage_end) AS last_day, count(*) AS officers
        FROM registrations
        WHERE agreement_id = :agreement_id AND status IN {COVERING_SQL}
        GROUP BY 1, 2, 3
    ),
    spans AS (
        SELECT cohort_id,
               date_trunc('month', first_day::timestamp)::date AS first_month,
               date_trunc('month', last_day::timestamp)::date AS last_month,
               sum(officers) AS officers
        FROM periods
        WHERE last_day >= first_day
        GROUP BY 1, 2, 3
    ),
    cohort_months AS (
        SELECT r.cohort_id, r.role_code, r.coverage_start, r.jkk_rate, r.jkm_rate, m::date AS month
        FROM cohort_rates r,
             generate_series(
                 greatest(date_trunc('month', r.coverage_start::timestamp),
                          CAST(:from_month AS date)),
                 least(date_trunc('month', r.coverage_end::timestamp),
                       CAST(:to_month AS date)),
                 interval '1 month') AS m
    ),
    counted AS (
        SELECT cm.cohort_id, cm.role_code, cm.coverage_start, cm.month, cm.jkk_rate, cm.jkm_rate,
               COALESCE(sum(s.officers), 0)::bigint AS officer_months
        FROM cohort_months cm
        LEFT JOIN spans s
            ON s.cohort_id = cm.cohort_id AND cm.month BETWEEN s.first_month AND s.last_month
        GROUP BY cm.cohort_id, cm.role_code, cm.coverage_start, cm.month, cm.jkk_rate, cm.jkm_rate
    )
    SELECT cohort_id, role_code, month, officer_months,
           officer_months * jkk_rate AS jkk,
           officer_months * jkm_rate AS jkm
    FROM counted
    ORDER BY month, coverage_start, role_code, cohort_id
"""


async def contribution_lines(
    session: AsyncSession, agreement_id: uuid.UUID, *, from_month: date, to_month: date
) -> Sequence[Row[Any]]:
    """(cohort_id, role_code, month, officer_months, jkk, jkm) per cohort month in the window."""
    params = {"agreement_id": agreement_id, "from_month": from_month, "to_month": to_month}
    return (await session.execute(text(CONTRIBUTION_LINES_SQL), params)).all()


async def paid_by_month(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    *,
    from_month: date | None = None,
    to_month: date | None = None,
) -> dict[date, int]:
    stmt = (
        select(ContributionAllocation.month, func.sum(ContributionAllocation.amount))
        .where(ContributionAllocation.agreement_id == agreement_id)
        .group_by(ContributionAllocation.month)
    )
    if from_month is not None:
        stmt = stmt.where(ContributionAllocation.month >= from_month)
    if to_month is not None:
        stmt = stmt.where(ContributionAllocation.month <= to_month)
    return {month: int(total) for month, total in (await session.execute(stmt)).all()}


async def lock_payments(session: AsyncSession, agreement_id: uuid.UUID) -> None:
    """Serialize payments of one agreement until the transaction ends (outstanding is read)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"contribution_payments:{agreement_id}"},
    )


async def payment_reference_exists(
    session: AsyncSession, agreement_id: uuid.UUID, reference: str
) -> bool:
    found = await session.scalar(
        select(ContributionPayment.id).where(
            ContributionPayment.agreement_id == agreement_id,
            ContributionPayment.reference == reference,
        )
    )
    return found is not None


async def insert_payment(
    session: AsyncSession,
    *,
    agreement_id: uuid.UUID,
    amount: int,
    paid_on: date,
    reference: str,
    months: list[date],
    organization_id: uuid.UUID | None,
    key_id: uuid.UUID | None,
    allocations: list[tuple[date, int]],
) -> ContributionPayment:
    payment = ContributionPayment(
        agreement_id=agreement_id,
        amount=amount,
        paid_on=paid_on,
        reference=reference,
        months=months,
        recorded_by_organization_id=organization_id,
        recorded_by_key_id=key_id,
    )
    session.add(payment)
    await session.flush()
    await session.execute(
        insert(ContributionAllocation),
        [
            {"payment_id": payment.id, "agreement_id": agreement_id, "month": m, "amount": a}
            for m, a in allocations
        ],
    )
    await session.refresh(payment)
    return payment


def payments_query(agreement_id: uuid.UUID) -> Select[Any]:
    return select(ContributionPayment).where(ContributionPayment.agreement_id == agreement_id)


async def allocations_of(
    session: AsyncSession, payment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[date, int]]]:
    if not payment_ids:
        return {}
    rows = await session.execute(
        select(
            ContributionAllocation.payment_id,
            ContributionAllocation.month,
            ContributionAllocation.amount,
        )
        .where(ContributionAllocation.payment_id.in_(payment_ids))
        .order_by(ContributionAllocation.payment_id, ContributionAllocation.month)
    )
    found: dict[uuid.UUID, list[tuple[date, int]]] = {}
    for payment_id, month, amount in rows.all():
        found.setdefault(payment_id, []).append((month, amount))
    return found


async def cohorts_of(session: AsyncSession, agreement_id: uuid.UUID) -> Sequence[Row[Any]]:
    return (
        await session.execute(
            text(
                "SELECT id, role_code, coverage_start, coverage_end, planned_headcount "
                "FROM cohorts WHERE agreement_id = :agreement_id "
                "ORDER BY coverage_start, role_code, id"
            ),
            {"agreement_id": agreement_id},
        )
    ).all()


# Registrations of an agreement counted by status, per cohort and per district. One pass (an
# index-only scan, as above) counts per (cohort, assignment region, status), a few thousand
# groups, which are then rolled up both ways. A village code (12.09.18.2002) counts under its
# district (12.09.18); a shorter code (a district, or a regency for staff serving the whole
# regency) under itself. District names are looked up for the few rolled-up rows only.
STATUS_COUNTS_SQL = """
    WITH by_region AS (
        SELECT cohort_id, region_code, status, count(*) AS n
        FROM registrations
        WHERE agreement_id = :agreement_id
        GROUP BY 1, 2, 3
    ),
    rolled AS (
        SELECT GROUPING(cohort_id) = 1 AS by_district, cohort_id, district, status,
               sum(n)::bigint AS n
        FROM (
            SELECT cohort_id, status, n,
                   CASE WHEN length(region_code) > 8 THEN left(region_code, 8)
                        ELSE region_code END AS district
            FROM by_region
        ) b
        GROUP BY GROUPING SETS ((cohort_id, status), (district, status))
    )
    SELECT by_district, cohort_id, district,
           (SELECT name FROM regions WHERE code = rolled.district) AS district_name, status, n
    FROM rolled
    ORDER BY by_district, district, status
"""


async def status_counts(session: AsyncSession, agreement_id: uuid.UUID) -> Sequence[Row[Any]]:
    """(by_district, cohort_id, district, district_name, status, n) rows."""
    return (await session.execute(text(STATUS_COUNTS_SQL), {"agreement_id": agreement_id})).all()


CLAIM_STATUS_ORDER = "ARRAY['submitted', 'verified', 'approved', 'paid', 'rejected']"


async def claims_by_status(session: AsyncSession, agreement_id: uuid.UUID) -> Sequence[Row[Any]]:
    """(program, status, count, payable, entitlement) of the agreement's claims (table of 0006)."""
    sql = f"""
        SELECT program, status, count(*) AS count,
               COALESCE(sum(payable_total), 0)::bigint AS payable,
               COALESCE(sum(entitlement_total), 0)::bigint AS entitlement
        FROM claims
        WHERE agreement_id = :agreement_id
        GROUP BY program, status
        ORDER BY program, array_position({CLAIM_STATUS_ORDER}, status)
    """
    return (await session.execute(text(sql), {"agreement_id": agreement_id})).all()


async def enrolment_rows(
    session: AsyncSession,
    principal: Principal,
    *,
    election: str | None,
    province: str | None,
) -> Sequence[Row[Any]]:
    """(region_code, region_name, agreements, planned, registered) per regency, over the
    agreements the caller sees.

    Agreements in force or ended count (drafts plan nothing yet; cancelled ones never happened).
    An agreement counts under the regency of its region; a province-wide one under the province.
    """
    readable, params = access.readable_sql(principal, "a", "party")
    conditions = [readable, "a.status IN ('active', 'ended')"]
    if election is not None:
        conditions.append("a.election_code = :election")
        params["election"] = election
    if province is not None:
        conditions.append("(a.region_code = :province OR a.region_code LIKE :province_prefix)")
        params["province"] = province
        params["province_prefix"] = f"{province}.%"
    sql = f"""
        WITH scoped AS (
            SELECT a.id,
                   CASE WHEN length(a.region_code) > 5 THEN left(a.region_code, 5)
                        ELSE a.region_code END AS regency
            FROM agreements a
            WHERE {" AND ".join(conditions)}
        ),
        planned AS (
            SELECT s.regency, count(DISTINCT s.id) AS agreements,
                   COALESCE(sum(c.planned_headcount), 0)::bigint AS planned
            FROM scoped s LEFT JOIN cohorts c ON c.agreement_id = s.id
            GROUP BY s.regency
        ),
        registered AS (
            SELECT s.regency, count(*) AS registered
            FROM scoped s
            JOIN registrations r ON r.agreement_id = s.id AND r.status = 'active'
            GROUP BY s.regency
        )
        SELECT p.regency AS region_code, g.name AS region_name, p.agreements, p.planned,
               COALESCE(r.registered, 0) AS registered
        FROM planned p
        LEFT JOIN registered r ON r.regency = p.regency
        LEFT JOIN regions g ON g.code = p.regency
        ORDER BY p.regency
    """
    return (await session.execute(text(sql), params)).all()
