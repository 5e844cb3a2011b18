"""Reading claims: the full claim, the list, and who may see them.

Claims hold health data, sensitive personal data under UU 27/2022: only the parties to the
officer's agreement (and operators) see a claim, anyone else gets 404 as for a missing id, and
every answer that shows a claim writes a row to the access log with the key.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.service import get_visible_agreement
from app.claims import repository
from app.claims.benefits import totals_arithmetic
from app.claims.documents import KINDS
from app.claims.exceptions import claim_not_found
from app.claims.repository import ClaimFilters
from app.claims.schemas import (
    AmountsClaimed,
    BenefitLineRead,
    ClaimantRead,
    ClaimEventRead,
    ClaimRead,
    ClaimSummary,
    DocumentRead,
    TotalsRead,
    WarningRead,
)
from app.core.accesslog import AccessLogWriter, record_session_reads
from app.core.auth import Principal
from app.core.clock import JAKARTA
from app.core.errors import invalid_field
from app.core.pagination import Page, keyset_page
from app.models import Agreement, Claim, ClaimBenefit, ClaimDocument, ClaimEvent
from app.nik import format_nik, mask_nik

ENDPOINT_LIST = "GET /v1/claims"
ENDPOINT_READ = "GET /v1/claims/{id}"


def incident_moment(incident_date: date, incident_at: time | None) -> datetime:
    """When the incident happened: its time, or the start of its day, in Asia/Jakarta."""
    return datetime.combine(incident_date, incident_at or time(0), JAKARTA)


def _shows_pii(principal: Principal) -> bool:
    return principal.has("pii:read")


def _late_hours(claim: Claim) -> int:
    late = claim.reported_at - incident_moment(claim.incident_date, claim.incident_at)
    return int(late.total_seconds() // 3600)


def _warnings(claim: Claim) -> list[WarningRead]:
    details = {
        "late_report": lambda: (
            f"Reported {_late_hours(claim)} hours after the incident; a work accident is "
            "reported (KK1) within 2 x 24 hours. Accepted, flagged for the reviewer."
        )
    }
    return [
        WarningRead(code=code, detail=details[code]() if code in details else code)
        for code in claim.warnings
    ]


def _document_read(document: ClaimDocument) -> DocumentRead:
    return DocumentRead(
        kind=document.kind,
        name=KINDS.get(document.kind, document.kind),
        required=document.required,
        received=document.received_at is not None,
        received_at=document.received_at,
        reference=document.reference,
        received_by_organization_id=document.received_by_organization_id,
    )


def _document_order(document: ClaimDocument, order: dict[str, int]) -> tuple[bool, int, str]:
    return (not document.required, order.get(document.kind, len(order)), document.kind)


async def claim_read(
    session: AsyncSession,
    principal: Principal,
    claim: Claim,
    access_log: AccessLogWriter | None,
    endpoint: str,
) -> ClaimRead:
    """The full claim (three more queries) and its access-log row."""
    return (await claim_reads(session, principal, [claim], access_log, endpoint))[0]


async def claim_reads(
    session: AsyncSession,
    principal: Principal,
    claims: Sequence[Claim],
    access_log: AccessLogWriter | None,
    endpoint: str,
) -> list[ClaimRead]:
    """The full claims, with three more queries for all of them, and an access-log row each."""
    ids = [claim.id for claim in claims]
    benefits = _by_claim(await repository.benefits_of(session, ids))
    documents = _by_claim(await repository.documents_of(session, ids))
    events = _by_claim(await repository.events_of(session, ids))
    await _log_reads(session, principal, access_log, endpoint, [claim.nik for claim in claims])
    return [
        _full_read(
            principal,
            claim,
            benefits.get(claim.id, []),
            documents.get(claim.id, []),
            events.get(claim.id, []),
        )
        for claim in claims
    ]


_Part = TypeVar("_Part", ClaimBenefit, ClaimDocument, ClaimEvent)


def _by_claim(parts: Sequence[_Part]) -> dict[uuid.UUID, list[_Part]]:
    grouped: dict[uuid.UUID, list[_Part]] = {}
    for part in parts:
        grouped.setdefault(part.claim_id, []).append(part)
    return grouped


def _full_read(
    principal: Principal,
    claim: Claim,
    benefits: list[ClaimBenefit],
    documents: list[ClaimDocument],
    events: list[ClaimEvent],
) -> ClaimRead:
    order = {kind: index for index, kind in enumerate(KINDS)}
    documents.sort(key=lambda document: _document_order(document, order))
    pii = _shows_pii(principal)
    arithmetic = totals_arithmetic(
        [line.amount for line in benefits if line.payable_now], claim.entitlement_total
    )
    return ClaimRead(
        id=claim.id,
        agreement_id=claim.agreement_id,
        registration_id=claim.registration_id,
        nik=format_nik(claim.nik) if pii else mask_nik(claim.nik),
        program=claim.program,
        incident_type=claim.incident_type,
        incident_date=claim.incident_date,
        incident_at=claim.incident_at,
        reported_at=claim.reported_at,
        place_region_code=claim.place_region_code,
        place=claim.place,
        chronology=claim.chronology,
        on_duty=claim.on_duty,
        outcome=claim.outcome,
        incapacity_months=claim.incapacity_months,
        disability_percent=claim.disability_percent,
        children_count=claim.children_count,
        claimant=ClaimantRead(
            name=claim.claimant_name if pii else None,
            nik=format_nik(claim.claimant_nik) if pii else mask_nik(claim.claimant_nik),
            relation=claim.claimant_relation,
            phone=claim.claimant_phone if pii else None,
            bank_name=claim.claimant_bank_name,
            bank_account=claim.claimant_bank_account if pii else None,
        ),
        amounts_claimed=AmountsClaimed(
            medical=claim.medical_claimed, transport=claim.transport_claimed
        ),
        declared_wage=claim.declared_wage,
        benefits=[
            BenefitLineRead(
                code=line.code,
                name=line.name,
                calculation=line.calculation,
                arithmetic=line.arithmetic,
                amount=line.amount,
                payable_now=line.payable_now,
                legal_basis=line.legal_basis,
            )
            for line in benefits
        ],
        totals=TotalsRead(
            payable_now=claim.payable_total,
            entitlement=claim.entitlement_total,
            total=claim.payable_total + claim.entitlement_total,
            arithmetic=arithmetic,
        ),
        documents=[_document_read(document) for document in documents],
        documents_missing=[
            document.kind
            for document in documents
            if document.required and document.received_at is None
        ],
        warnings=_warnings(claim),
        status=claim.status,
        version=claim.version,
        paid_on=claim.paid_on,
        transfer_reference=claim.transfer_reference,
        history=[
            ClaimEventRead(
                from_status=event.from_status,
                to_status=event.to_status,
                at=event.at,
                actor_key_id=event.actor_key_id,
                actor_organization_id=event.actor_organization_id,
                note=event.note,
            )
            for event in events
        ],
        created_at=claim.created_at,
        updated_at=claim.updated_at,
    )


async def _log_reads(
    session: AsyncSession,
    principal: Principal,
    access_log: AccessLogWriter | None,
    endpoint: str,
    niks: Sequence[int],
) -> None:
    """One access-log row per claim shown (UU 27/2022)."""
    await record_session_reads(
        session, access_log, principal, endpoint=endpoint, reads=[(nik, 1) for nik in niks]
    )


async def visible_claim(
    session: AsyncSession, principal: Principal, claim_id: uuid.UUID
) -> tuple[Claim, Agreement]:
    """The claim and its agreement, when the caller sees the agreement; else 404."""
    found = await repository.readable_claim(session, claim_id, principal)
    if found is None:
        raise claim_not_found()
    return found


async def get_claim(
    session: AsyncSession,
    principal: Principal,
    *,
    claim_id: uuid.UUID,
    access_log: AccessLogWriter | None,
) -> ClaimRead:
    claim, _ = await visible_claim(session, principal, claim_id)
    return await claim_read(session, principal, claim, access_log, ENDPOINT_READ)


async def list_claims(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
    access_log: AccessLogWriter | None,
) -> Page[ClaimSummary]:
    """Oldest filed first; every claim on the page is an access-log row."""
    claims, next_cursor = await _claims_page(session, principal, filters, limit, cursor)
    await _log_reads(session, principal, access_log, ENDPOINT_LIST, [c.nik for c in claims])
    pii = _shows_pii(principal)
    items = [
        ClaimSummary(
            id=claim.id,
            agreement_id=claim.agreement_id,
            registration_id=claim.registration_id,
            nik=format_nik(claim.nik) if pii else mask_nik(claim.nik),
            program=claim.program,
            incident_type=claim.incident_type,
            incident_date=claim.incident_date,
            outcome=claim.outcome,
            status=claim.status,
            payable_total=claim.payable_total,
            entitlement_total=claim.entitlement_total,
            warnings=list(claim.warnings),
            version=claim.version,
            created_at=claim.created_at,
            updated_at=claim.updated_at,
        )
        for claim in claims
    ]
    return Page(items=items, next_cursor=next_cursor)


async def list_full_claims(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
    access_log: AccessLogWriter | None,
) -> Page[ClaimRead]:
    """`list_claims` with each claim in full (the console's queue): four queries in all."""
    claims, next_cursor = await _claims_page(session, principal, filters, limit, cursor)
    items = await claim_reads(session, principal, claims, access_log, ENDPOINT_LIST)
    return Page(items=items, next_cursor=next_cursor)


async def _claims_page(
    session: AsyncSession,
    principal: Principal,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Claim], str | None]:
    """The claims the caller sees that match `filters`, oldest filed first, a page of them."""
    if (
        filters.incident_from is not None
        and filters.incident_to is not None
        and filters.incident_from > filters.incident_to
    ):
        invalid_field("invalid_range", "`from` is after `to`", ["query", "from"])
    if filters.agreement_id is not None:
        await get_visible_agreement(session, principal, filters.agreement_id)
    stmt = repository.claims_query(filters, principal)
    rows, next_cursor = await keyset_page(
        session, stmt, keys=[Claim.created_at, Claim.id], limit=limit, cursor=cursor
    )
    return [row[0] for row in rows], next_cursor
