"""The review of a claim: its moves (submitted to paid, or rejected) and documents received.

Only the BPJS branch of the officer's agreement (or an operator) moves a claim; any party with
a claims scope records documents while the claim is open.
"""

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.claims import repository
from app.claims.documents import KINDS
from app.claims.exceptions import DOCUMENTS_CHECK, documents_missing
from app.claims.schemas import ClaimRead, DocumentReceive, TransitionCreate
from app.claims.views import claim_read, visible_claim
from app.core import audit
from app.core.accesslog import AccessLogWriter
from app.core.auth import Principal
from app.core.clock import today
from app.core.errors import Forbidden, InvalidState, Unprocessable, constraint_of, invalid_field
from app.core.versions import check_version, if_match_versions, stale
from app.models import Claim

OPEN_STATUSES = ("submitted", "verified", "approved")
CLOSED_STATUSES = frozenset({"paid", "rejected"})
MOVES = frozenset(
    {
        ("submitted", "verified"),
        ("verified", "approved"),
        ("approved", "paid"),
        *((status, "rejected") for status in OPEN_STATUSES),
    }
)
ENDPOINT_TRANSITION = "POST /v1/claims/{id}/transitions"
ENDPOINT_DOCUMENT = "POST /v1/claims/{id}/documents"


def _check_move(claim: Claim, data: TransitionCreate) -> None:
    if (claim.status, data.to) not in MOVES:
        allowed = sorted(to for source, to in MOVES if source == claim.status)
        raise InvalidState(
            f"A {claim.status} claim cannot become {data.to}"
            + (f"; it can become {' or '.join(allowed)}" if allowed else "; it is closed"),
            code="invalid_transition",
            allowed=allowed,
        )
    if data.to == "rejected" and data.note is None:
        invalid_field("note_required", "Give the reason for rejecting in `note`", ["body", "note"])
    if data.to == "paid":
        if data.paid_on is None or data.transfer_reference is None:
            invalid_field(
                "payment_details_required",
                "Paying needs `paid_on` and `transfer_reference`",
                ["body", "paid_on" if data.paid_on is None else "transfer_reference"],
            )
        if data.paid_on > today():
            invalid_field("paid_on_in_future", "`paid_on` is in the future", ["body", "paid_on"])
        if data.paid_on < claim.incident_date:
            invalid_field(
                "paid_on_invalid", "`paid_on` is before the incident", ["body", "paid_on"]
            )
    elif data.paid_on is not None or data.transfer_reference is not None:
        invalid_field(
            "payment_details_not_allowed",
            "`paid_on` and `transfer_reference` belong to the move to paid",
            ["body", "paid_on" if data.paid_on is not None else "transfer_reference"],
        )


async def transition(
    session: AsyncSession,
    principal: Principal,
    *,
    claim_id: uuid.UUID,
    if_match: str | None,
    data: TransitionCreate,
    access_log: AccessLogWriter | None,
) -> ClaimRead:
    """Move a claim one step; only the agreement's BPJS branch (or an operator) reviews."""
    claim, agreement = await visible_claim(session, principal, claim_id)
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden(
            "Only the BPJS branch of the officer's agreement reviews its claims",
            code="not_reviewer",
        )
    versions = if_match_versions(if_match, entity="claim", current=claim.version)
    check_version("claim", claim.version, versions)
    _check_move(claim, data)
    if data.to == "approved":
        missing = await repository.missing_documents(session, claim.id)
        if missing:
            raise documents_missing(sorted(missing, key=list(KINDS).index))
    values: dict[str, Any] = {"status": data.to}
    if data.to == "paid":
        values.update(paid_on=data.paid_on, transfer_reference=data.transfer_reference)
    from_status = claim.status
    try:
        async with session.begin_nested():
            moved = await repository.move(
                session, claim.id, version=claim.version, from_status=from_status, values=values
            )
    except IntegrityError as exc:
        if constraint_of(exc) == DOCUMENTS_CHECK:
            missing = await repository.missing_documents(session, claim.id)
            raise documents_missing(missing) from None
        raise
    if moved is None:
        # Another request moved or changed it after we read it: theirs stands.
        current = await repository.current_version(session, claim.id)
        raise stale("claim", current or claim.version)
    await repository.insert_event(
        session,
        {
            "claim_id": claim.id,
            "from_status": from_status,
            "to_status": data.to,
            "actor_key_id": principal.key_id,
            "actor_organization_id": principal.organization_id,
            "note": data.note,
        },
    )
    audit.record(
        session,
        principal,
        action="claim.transition",
        entity_type="claim",
        entity_id=claim.id,
        detail={"from": from_status, "to": data.to, "version": moved.version},
    )
    return await claim_read(session, principal, moved, access_log, ENDPOINT_TRANSITION)


async def receive_document(
    session: AsyncSession,
    principal: Principal,
    *,
    claim_id: uuid.UUID,
    data: DocumentReceive,
    access_log: AccessLogWriter | None,
) -> ClaimRead:
    """Mark a document received (again: the newer reference replaces the older)."""
    claim, _ = await visible_claim(session, principal, claim_id)
    kind = data.kind.lower()
    if kind not in KINDS:
        raise Unprocessable(
            f"Unknown document kind {data.kind!r}; known kinds: {', '.join(KINDS)}",
            code="document_kind_unknown",
            errors=[
                {"loc": ["body", "kind"], "code": "document_kind_unknown", "msg": "unknown kind"}
            ],
            known=list(KINDS),
        )
    if claim.status in CLOSED_STATUSES:
        raise InvalidState(
            f"The claim is {claim.status}: its documents are closed", code="claim_closed"
        )
    await repository.receive_document(
        session,
        claim_id=claim.id,
        kind=kind,
        reference=data.reference,
        key_id=principal.key_id,
        organization_id=principal.organization_id,
    )
    updated = await repository.bump_version(session, claim.id)
    audit.record(
        session,
        principal,
        action="claim.document_received",
        entity_type="claim",
        entity_id=claim.id,
        detail={"kind": kind, "version": updated.version},
    )
    return await claim_read(session, principal, updated, access_log, ENDPOINT_DOCUMENT)
