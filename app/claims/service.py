"""Claims: eligibility at filing, benefit amounts, document checklists and the review workflow.

Claims hold health data, sensitive personal data under UU 27/2022: only the parties to the
officer's agreement (and operators) see a claim, anyone else gets 404 as for a missing id, and
every answer that shows a claim writes a row to the access log (coverage domain) with the key.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.agreements.service import get_visible_agreement
from app.claims import repository
from app.claims.benefits import (
    Benefits,
    Incident,
    ScheduleError,
    ScheduleLine,
    compute,
    totals_arithmetic,
)
from app.claims.documents import KINDS, checklist
from app.claims.exceptions import (
    COVERED_CHECK,
    DEATH_INDEX,
    DOCUMENTS_CHECK,
    INCIDENT_INDEX,
    claim_not_found,
    documents_missing,
    duplicate_death,
    duplicate_incident,
    not_covered,
)
from app.claims.repository import ClaimFilters
from app.claims.schemas import (
    AmountsClaimed,
    BenefitLineRead,
    ClaimantRead,
    ClaimCreate,
    ClaimRead,
    ClaimSummary,
    DocumentRead,
    DocumentReceive,
    EventRead,
    TotalsRead,
    TransitionCreate,
    WarningRead,
)
from app.core import audit
from app.core.accesslog import AccessLogWriter, record_session_reads
from app.core.auth import Principal
from app.core.clock import JAKARTA, today
from app.core.errors import Forbidden, InvalidState, NotFound, Unprocessable, constraint_of
from app.core.pagination import Page, keyset_page
from app.core.versions import check_version, if_match_versions, stale
from app.coverage.service import COVERS, REASONS, state_on
from app.models import Agreement, Claim, ClaimDocument, RegistrationStatus
from app.nik import check_nik, format_nik, mask_nik, nik_to_int
from app.reference import service as reference

# DESIGN rule 9: a work accident is reported (KK1) within 2 x 24 hours; later is a warning.
REPORT_WITHIN = timedelta(hours=48)
# Clocks differ: a report stamped a few minutes ahead of ours is not from the future.
CLOCK_SKEW = timedelta(minutes=5)
WORK_INCIDENTS = frozenset({"work_accident", "commuting_accident", "occupational_disease"})
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

ENDPOINT_CREATE = "POST /v1/claims"
ENDPOINT_LIST = "GET /v1/claims"
ENDPOINT_READ = "GET /v1/claims/{id}"
ENDPOINT_TRANSITION = "POST /v1/claims/{id}/transitions"
ENDPOINT_DOCUMENT = "POST /v1/claims/{id}/documents"


def _unprocessable(code: str, detail: str, loc: Sequence[str]) -> NoReturn:
    raise Unprocessable(detail, code=code, errors=[{"loc": list(loc), "code": code, "msg": detail}])


# Filing: the shape of the request, then the data


def _outcome_of(data: ClaimCreate) -> str:
    """The outcome to store; 422 where the program, incident type and outcome disagree."""
    if data.program == "JKM":
        if data.incident_type in WORK_INCIDENTS:
            raise Unprocessable(
                "A death caused by a work or commuting accident or an occupational disease is "
                "a JKK death benefit: file it as program JKK with outcome death",
                code="use_jkk",
            )
        if data.outcome not in (None, "death"):
            _unprocessable(
                "outcome_not_for_jkm",
                "A JKM claim is for a death: leave outcome out",
                ["body", "outcome"],
            )
        if data.amounts_claimed.medical or data.amounts_claimed.transport:
            _unprocessable(
                "costs_not_for_jkm",
                "Medical and transport costs are JKK benefits; a JKM claim claims none",
                ["body", "amounts_claimed"],
            )
        return "death"
    if data.incident_type == "death":
        raise Unprocessable(
            "A death not caused by work is a JKM claim: file it as program JKM",
            code="use_jkm",
        )
    if data.outcome is None:
        _unprocessable(
            "outcome_required",
            "A JKK claim needs its outcome: treatment, temporary_incapacity, partial_disability, "
            "total_permanent_disability or death",
            ["body", "outcome"],
        )
    return data.outcome


def _check_outcome_details(data: ClaimCreate, outcome: str) -> None:
    fields = (
        ("incapacity_months", data.incapacity_months, "temporary_incapacity"),
        ("disability_percent", data.disability_percent, "partial_disability"),
    )
    for field, value, needs in fields:
        if outcome == needs and value is None:
            _unprocessable(f"{field}_required", f"Outcome {needs} needs {field}", ["body", field])
        if outcome != needs and value is not None:
            _unprocessable(
                f"{field}_not_applicable",
                f"{field} is only for the outcome {needs}",
                ["body", field],
            )
    if outcome == "death" and data.claimant.relation == "self":
        _unprocessable(
            "claimant_relation_invalid",
            "For a death the claimant is an heir (spouse, child, parent or sibling), not self",
            ["body", "claimant", "relation"],
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=JAKARTA)


def incident_moment(incident_date: date, incident_at: time | None) -> datetime:
    """When the incident happened: its time, or the start of its day, in Asia/Jakarta."""
    return datetime.combine(incident_date, incident_at or time(0), JAKARTA)


def _check_times(data: ClaimCreate) -> tuple[datetime, list[str]]:
    """The report time (aware) and the warnings it earns."""
    now = datetime.now(UTC)
    if data.incident_at is not None and data.incident_at.tzinfo is not None:
        _unprocessable(
            "incident_at_offset",
            "Give incident_at as local time in Asia/Jakarta (WIB), without an offset",
            ["body", "incident_at"],
        )
    if data.incident_date > now.astimezone(JAKARTA).date():
        _unprocessable(
            "incident_in_future", "The incident date is in the future", ["body", "incident_date"]
        )
    reported_at = _aware(data.reported_at)
    if reported_at > now + CLOCK_SKEW:
        _unprocessable(
            "reported_in_future", "The report time is in the future", ["body", "reported_at"]
        )
    happened = incident_moment(data.incident_date, data.incident_at)
    if reported_at < happened:
        _unprocessable(
            "reported_before_incident",
            "The incident was reported before it happened",
            ["body", "reported_at"],
        )
    warnings = ["late_report"] if reported_at - happened > REPORT_WITHIN else []
    return reported_at, warnings


def _claimant_nik(raw: str) -> int:
    checked = check_nik(raw, today=today())
    if checked.nik is None:
        raise Unprocessable(
            "The claimant's NIK is not valid",
            code="invalid_nik",
            errors=[
                {"loc": ["body", "claimant", "nik"], "code": code, "msg": "invalid NIK"}
                for code in checked.errors
            ],
        )
    return checked.nik.value


async def _covering_registration(
    session: AsyncSession, principal: Principal, data: ClaimCreate
) -> Any:
    """The registration covering the incident date, locked; 404 or 422 not_covered otherwise."""
    if data.registration_id is not None:
        rows = await repository.registrations_for_claim(
            session, principal, registration_id=data.registration_id
        )
        if not rows:
            raise NotFound("No such registration", code="registration_not_found")
    else:
        nik = nik_to_int(data.nik or "")
        if nik is None:
            _unprocessable("invalid_nik", "A NIK is 16 digits, sent as a string", ["body", "nik"])
        rows = await repository.registrations_for_claim(session, principal, nik=nik)
    worst = 0
    for row in rows:
        if row.status == RegistrationStatus.REJECTED:
            continue
        state = state_on(
            row.status, row.coverage_start, row.coverage_end, row.ended_on, data.incident_date
        )
        if state == COVERS:
            return row
        worst = max(worst, state)
    reason = REASONS[worst] if worst else "not_registered"
    raise not_covered(
        reason,
        f"No registration covers the officer on {data.incident_date} ({reason})",
    )


async def _benefits(
    session: AsyncSession, data: ClaimCreate, outcome: str, declared_wage: int
) -> Benefits:
    rows = await reference.schedules_in_force(session, data.incident_date, data.program)
    if not rows:
        raise Unprocessable(
            f"No benefit schedule of {data.program} is in force on {data.incident_date}",
            code="benefit_schedule_missing",
        )
    schedule = [
        ScheduleLine(
            id=row.id,
            program=row.program,
            code=row.code,
            name=row.name,
            calculation=row.calculation,
            applies_to=row.applies_to,
            amount=row.amount,
            multiplier=row.multiplier,
            minimum=row.minimum,
            maximum=row.maximum,
            legal_basis=row.legal_basis,
        )
        for row in rows
    ]
    incident = Incident(
        program=data.program,
        outcome=outcome,
        declared_wage=declared_wage,
        incapacity_months=data.incapacity_months,
        disability_percent=data.disability_percent,
        children_count=data.children_count,
        medical_claimed=data.amounts_claimed.medical,
        transport_claimed=data.amounts_claimed.transport,
    )
    try:
        benefits = compute(schedule, incident)
    except ScheduleError as exc:
        raise Unprocessable(
            f"The benefit schedule in force cannot be applied: {exc}",
            code="benefit_schedule_unusable",
        ) from exc
    if data.children_count and not any(not line.payable_now for line in benefits.lines):
        _unprocessable(
            "children_count_not_applicable",
            "The scholarship (children_count) belongs to a JKK death claim",
            ["body", "children_count"],
        )
    return benefits


async def file_claim(
    session: AsyncSession,
    principal: Principal,
    *,
    data: ClaimCreate,
    access_log: AccessLogWriter | None,
) -> ClaimRead:
    """Check, compute and store a claim, its benefit lines, checklist and first event."""
    if (data.registration_id is None) == (data.nik is None):
        _unprocessable(
            "officer_identifier",
            "Name the officer by exactly one of registration_id and nik",
            ["body", "registration_id"],
        )
    outcome = _outcome_of(data)
    _check_outcome_details(data, outcome)
    reported_at, warnings = _check_times(data)
    claimant_nik = _claimant_nik(data.claimant.nik)
    if await reference.find_region(session, data.place_region_code) is None:
        _unprocessable(
            "region_not_found",
            f"No region has the code {data.place_region_code}",
            ["body", "place_region_code"],
        )
    registration = await _covering_registration(session, principal, data)
    if data.program not in registration.programs:
        raise not_covered(
            "program_not_covered",
            f"The officer's agreement does not cover {data.program}",
        )
    if (data.claimant.relation == "self") != (claimant_nik == registration.nik):
        _unprocessable(
            "claimant_nik_mismatch",
            "A claimant with relation self is the officer and has the officer's NIK; any other "
            "claimant has their own",
            ["body", "claimant", "nik"],
        )
    benefits = await _benefits(session, data, outcome, registration.declared_wage)
    values: dict[str, Any] = {
        "agreement_id": registration.agreement_id,
        "registration_id": registration.id,
        "nik": registration.nik,
        "program": data.program,
        "incident_type": data.incident_type,
        "incident_date": data.incident_date,
        "incident_at": data.incident_at,
        "reported_at": reported_at,
        "place_region_code": data.place_region_code,
        "place": data.place,
        "chronology": data.chronology,
        "on_duty": data.on_duty,
        "outcome": outcome,
        "incapacity_months": data.incapacity_months,
        "disability_percent": data.disability_percent,
        "children_count": data.children_count,
        "claimant_name": data.claimant.name,
        "claimant_nik": claimant_nik,
        "claimant_relation": data.claimant.relation,
        "claimant_phone": data.claimant.phone,
        "claimant_bank_name": data.claimant.bank_name,
        "claimant_bank_account": data.claimant.bank_account,
        "medical_claimed": data.amounts_claimed.medical,
        "transport_claimed": data.amounts_claimed.transport,
        "declared_wage": registration.declared_wage,
        "payable_total": benefits.payable_now,
        "entitlement_total": benefits.entitlement,
        "warnings": warnings,
        "filed_by_key_id": principal.key_id,
        "filed_by_organization_id": principal.organization_id,
    }
    try:
        async with session.begin_nested():
            claim = await repository.insert_claim(session, values)
    except IntegrityError as exc:
        constraint = constraint_of(exc)
        if constraint == DEATH_INDEX:
            raise duplicate_death() from None
        if constraint == INCIDENT_INDEX:
            raise duplicate_incident() from None
        if constraint == COVERED_CHECK:
            raise not_covered(
                "not_registered", "The registration no longer covers the incident"
            ) from None
        raise
    await repository.insert_benefits(
        session,
        [
            {
                "claim_id": claim.id,
                "position": position,
                "schedule_id": line.schedule_id,
                "code": line.code,
                "name": line.name,
                "calculation": line.calculation,
                "arithmetic": line.arithmetic,
                "amount": line.amount,
                "payable_now": line.payable_now,
                "legal_basis": line.legal_basis,
            }
            for position, line in enumerate(benefits.lines)
        ],
    )
    kinds = checklist(
        program=data.program,
        incident_type=data.incident_type,
        outcome=outcome,
        medical_claimed=data.amounts_claimed.medical,
        transport_claimed=data.amounts_claimed.transport,
    )
    await repository.insert_documents(
        session, [{"claim_id": claim.id, "kind": kind, "required": True} for kind in kinds]
    )
    await repository.insert_event(
        session,
        {
            "claim_id": claim.id,
            "from_status": None,
            "to_status": "submitted",
            "actor_key_id": principal.key_id,
            "actor_organization_id": principal.organization_id,
        },
    )
    audit.record(
        session,
        principal,
        action="claim.create",
        entity_type="claim",
        entity_id=claim.id,
        detail={
            "agreement_id": str(claim.agreement_id),
            "registration_id": claim.registration_id,
            "program": claim.program,
            "outcome": claim.outcome,
            "warnings": warnings,
        },
    )
    return await _read(session, principal, claim, access_log, ENDPOINT_CREATE)


# Reading


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


async def _read(
    session: AsyncSession,
    principal: Principal,
    claim: Claim,
    access_log: AccessLogWriter | None,
    endpoint: str,
) -> ClaimRead:
    """The full claim (three more queries) and its access-log row."""
    benefits = await repository.benefits_of(session, claim.id)
    documents = await repository.documents_of(session, claim.id)
    events = await repository.events_of(session, claim.id)
    await _log_reads(session, principal, access_log, endpoint, [claim.nik])
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
            EventRead(
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


async def _visible(
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
    claim, _ = await _visible(session, principal, claim_id)
    return await _read(session, principal, claim, access_log, ENDPOINT_READ)


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
    if (
        filters.incident_from is not None
        and filters.incident_to is not None
        and filters.incident_from > filters.incident_to
    ):
        _unprocessable("invalid_range", "`from` is after `to`", ["query", "from"])
    if filters.agreement_id is not None:
        await get_visible_agreement(session, principal, filters.agreement_id)
    stmt = repository.claims_query(filters, principal)
    rows, next_cursor = await keyset_page(
        session, stmt, keys=[Claim.created_at, Claim.id], limit=limit, cursor=cursor
    )
    claims: list[Claim] = [row[0] for row in rows]
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


# The workflow


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
        _unprocessable("note_required", "Give the reason for rejecting in `note`", ["body", "note"])
    if data.to == "paid":
        if data.paid_on is None or data.transfer_reference is None:
            _unprocessable(
                "payment_details_required",
                "Paying needs `paid_on` and `transfer_reference`",
                ["body", "paid_on" if data.paid_on is None else "transfer_reference"],
            )
        if data.paid_on > today():
            _unprocessable("paid_on_in_future", "`paid_on` is in the future", ["body", "paid_on"])
        if data.paid_on < claim.incident_date:
            _unprocessable(
                "paid_on_invalid", "`paid_on` is before the incident", ["body", "paid_on"]
            )
    elif data.paid_on is not None or data.transfer_reference is not None:
        _unprocessable(
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
    claim, agreement = await _visible(session, principal, claim_id)
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden(
            "Only the BPJS branch of the officer's agreement reviews its claims",
            code="not_reviewer",
        )
    check_version("claim", claim.version, if_match_versions(if_match, entity="claim"))
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
    return await _read(session, principal, moved, access_log, ENDPOINT_TRANSITION)


async def receive_document(
    session: AsyncSession,
    principal: Principal,
    *,
    claim_id: uuid.UUID,
    data: DocumentReceive,
    access_log: AccessLogWriter | None,
) -> ClaimRead:
    """Mark a document received (again: the newer reference replaces the older)."""
    claim, _ = await _visible(session, principal, claim_id)
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
    return await _read(session, principal, updated, access_log, ENDPOINT_DOCUMENT)
