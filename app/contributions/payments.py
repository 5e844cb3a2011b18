"""Contribution payments: recording one, and how it settles the months it lists.

Rules decided here (the issue is silent on them):
- A payment settles the months it lists oldest first, each up to what is still outstanding;
  whatever is left (an over-payment) lands on the last listed month as a credit.
- Recording a payment is a write and takes `agreements:write`, and only the agreement's payer
  or BPJS branch (or an operator) may do it: the counterpart, when it does not pay, gets 403.
"""

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.contributions import repository, service
from app.contributions.schemas import (
    AllocationRead,
    PaymentCreate,
    PaymentRead,
)
from app.core import audit
from app.core.auth import Principal
from app.core.clock import today
from app.core.errors import Conflict, Forbidden, Unprocessable
from app.core.pagination import Page, keyset_page
from app.events import service as events
from app.events.types import EventType
from app.models import ContributionPayment


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
        months=[service.format_month(m) for m in payment.months],
        allocations=[
            AllocationRead(month=service.format_month(m), amount=a) for m, a in allocations
        ],
        recorded_by_organization_id=payment.recorded_by_organization_id,
        created_at=payment.created_at,
    )


async def record_payment(
    session: AsyncSession, principal: Principal, *, agreement_id: uuid.UUID, data: PaymentCreate
) -> PaymentRead:
    agreement = await service.visible_agreement(session, principal, agreement_id)
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
    months = [service.parse_month(m) for m in data.months]
    if len(set(months)) != len(months):
        raise Unprocessable(
            "A month is listed twice",
            code="duplicate_month",
            errors=[{"loc": ["body", "months"], "code": "duplicate", "msg": "listed twice"}],
        )
    months.sort()
    window = service.Window(months[0], months[-1])
    # Payments of one agreement wait for each other: each reads what the previous one settled.
    await repository.lock_payments(session, agreement.id)
    due = service.due_by_month(await service.due_lines(session, agreement, window))
    outside = [service.format_month(m) for m in months if m not in due]
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
    await events.record(
        session,
        EventType.CONTRIBUTION_PAYMENT_RECORDED,
        agreement_id=agreement.id,
        payment_id=payment.id,
        amount=data.amount,
        paid_on=str(data.paid_on),
        months=[service.format_month(m) for m in months],
        links={"payments": f"{events.link('agreements', agreement.id)}/payments"},
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
            "months": [service.format_month(m) for m in months],
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
    agreement = await service.visible_agreement(session, principal, agreement_id)
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
