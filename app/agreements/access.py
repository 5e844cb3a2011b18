"""Who sees an agreement and what hangs from it: operators, and the organizations party to it.

The parties of an agreement are its BPJS branch, its counterpart (the KPU or Bawaslu office)
and its payer. This module is the one home of that rule, spelled three ways from one list of
columns: a predicate over a loaded agreement (`party_roles`, `can_see`), a where-clause over
the agreements table for SQLAlchemy statements (`readable`, and `readable_from` for a table
that hangs from agreements without joining them), and the same clause as SQL text for the
raw statements (`readable_sql`, `party_sql`). Every repository that reads agreements or what
hangs from them (registrations, claims, roster batches, contributions, coverage) goes
through it, so a list, a read and a report cannot disagree about who sees what.
"""

import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, true

from app.core.auth import Principal
from app.models import Agreement


class PartyRole(StrEnum):
    BPJS_BRANCH = "bpjs_branch"
    COUNTERPART = "counterpart"
    PAYER = "payer"


# Each party and the column of agreements that names it.
PARTY_COLUMNS: dict[PartyRole, str] = {
    PartyRole.BPJS_BRANCH: "bpjs_branch_id",
    PartyRole.COUNTERPART: "counterpart_id",
    PartyRole.PAYER: "payer_id",
}


def party_roles(principal: Principal, agreement: Agreement) -> set[PartyRole]:
    """Which parties of `agreement` the caller's organization is.

    Empty for an organization that is not a party (operators included: see `can_see`).
    """
    organization = principal.organization_id
    if organization is None:
        return set()
    return {
        role for role, column in PARTY_COLUMNS.items() if getattr(agreement, column) == organization
    }


def can_see(principal: Principal, agreement: Agreement) -> bool:
    return principal.is_operator or bool(party_roles(principal, agreement))


def acts_as(principal: Principal, agreement: Agreement, *roles: PartyRole) -> bool:
    """Whether the caller may act as one of `roles` of `agreement`: it is one, or an operator."""
    return principal.is_operator or bool(party_roles(principal, agreement) & set(roles))


def party_clause(
    organization_id: uuid.UUID, roles: Iterable[PartyRole] = PartyRole
) -> ColumnElement[bool]:
    """Agreements (the table, joined) in which the organization is one of `roles`."""
    return or_(*(getattr(Agreement, PARTY_COLUMNS[role]) == organization_id for role in roles))


def readable(principal: Principal) -> ColumnElement[bool]:
    """Where-clause over agreements (the table, joined): those the caller sees. Every one for
    an operator, none for a key of no organization, else those its organization is party to."""
    if principal.is_operator:
        return true()
    if principal.organization_id is None:
        return false()
    return party_clause(principal.organization_id)


def readable_from(principal: Principal, agreement_id: Any) -> ColumnElement[bool]:
    """`readable` for rows of a table that hangs from agreements, by its `agreement_id`
    column, without joining agreements into the statement."""
    if principal.is_operator:
        return true()
    return exists().where(Agreement.id == agreement_id, readable(principal))


def party_sql(alias: str, organization: str, roles: Iterable[PartyRole] = PartyRole) -> str:
    """`party_clause` as SQL text over `alias` (agreements); `organization` is the SQL of the
    organization's id, a bind parameter."""
    terms = [f"{alias}.{PARTY_COLUMNS[role]} = {organization}" for role in roles]
    return "(" + " OR ".join(terms) + ")"


def readable_sql(principal: Principal, alias: str, parameter: str) -> tuple[str, dict[str, Any]]:
    """`readable` as SQL text over `alias` (agreements), with the bind parameter it needs."""
    if principal.is_operator:
        return "true", {}
    if principal.organization_id is None:
        return "false", {}
    return party_sql(alias, f":{parameter}"), {parameter: principal.organization_id}
