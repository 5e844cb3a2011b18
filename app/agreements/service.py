"""Agreements (PKS) and their cohorts: creation, lifecycle, visibility rules."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository
from app.core.auth import Principal
from app.core.errors import NotFound
from app.models import Agreement

PARTY_ROLES = ("bpjs_branch", "counterpart", "payer")


def party_role(principal: Principal, agreement: Agreement) -> set[str]:
    """Which of bpjs_branch, counterpart and payer the caller's organization is in `agreement`.

    Empty for an organization that is not a party (operators included: check `is_operator`).
    """
    organization = principal.organization_id
    if organization is None:
        return set()
    roles: set[str] = set()
    if agreement.bpjs_branch_id == organization:
        roles.add("bpjs_branch")
    if agreement.counterpart_id == organization:
        roles.add("counterpart")
    if agreement.payer_id == organization:
        roles.add("payer")
    return roles


def is_visible(principal: Principal, agreement: Agreement) -> bool:
    return principal.is_operator or bool(party_role(principal, agreement))


async def get_visible_agreement(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID
) -> Agreement:
    """The agreement, when the caller is an operator or one of its parties; else 404.

    An agreement of other parties is answered exactly like a missing id, so ids leak nothing.
    """
    agreement = await repository.get_agreement(session, agreement_id)
    if agreement is None or not is_visible(principal, agreement):
        raise NotFound("No such agreement", code="agreement_not_found")
    return agreement
