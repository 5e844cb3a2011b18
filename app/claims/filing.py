"""Filing a claim: eligibility on the incident date, benefit amounts, the document checklist.

The shape of the request is checked first (program, incident type and outcome agree; times are
not in the future), then the data: a registration under an agreement the caller sees covers the
incident date, for a program the agreement covers (else 422 `not_covered` with its reason).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.claims import repository
from app.claims.benefits import Benefits, Incident, ScheduleError, ScheduleLine, compute
from app.claims.documents import checklist
from app.claims.exceptions import (
    COVERED_CHECK,
    DEATH_INDEX,
    INCIDENT_INDEX,
    duplicate_death,
    duplicate_incident,
    not_covered,
)
from app.claims.schemas import ClaimCreate, ClaimRead
from app.claims.views import claim_read, incident_moment
from app.core import audit
from app.core.accesslog import AccessLogWriter
from app.core.auth import Principal
from app.core.clock import JAKARTA, day_of, today
from app.core.errors import NotFound, Unprocessable, constraint_of, invalid_field
from app.coverage.service import COVERS, REASONS, state_on
from app.events import service as events
from app.events.types import EventType
from app.models import RegistrationStatus
from app.nik import check_nik, nik_to_int
from app.reference import service as reference

# DESIGN rule 9: a work accident is reported (KK1) within 2 x 24 hours; later is a warning.
REPORT_WITHIN = timedelta(hours=48)
# Clocks differ: a report stamped a few minutes ahead of ours is not from the future.
CLOCK_SKEW = timedelta(minutes=5)
WORK_INCIDENTS = frozenset({"work_accident", "commuting_accident", "occupational_disease"})
ENDPOINT_CREATE = "POST /v1/claims"


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
            invalid_field(
                "outcome_not_for_jkm",
                "A JKM claim is for a death: leave outcome out",
                ["body", "outcome"],
            )
        if data.amounts_claimed.medical or data.amounts_claimed.transport:
            invalid_field(
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
        invalid_field(
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
            invalid_field(f"{field}_required", f"Outcome {needs} needs {field}", ["body", field])
        if outcome != needs and value is not None:
            invalid_field(
                f"{field}_not_applicable",
                f"{field} is only for the outcome {needs}",
                ["body", field],
            )
    if outcome == "death" and data.claimant.relation == "self":
        invalid_field(
            "claimant_relation_invalid",
            "For a death the claimant is an heir (spouse, child, parent or sibling), not self",
            ["body", "claimant", "relation"],
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=JAKARTA)


def _check_times(data: ClaimCreate) -> tuple[datetime, list[str]]:
    """The report time (aware) and the warnings it earns."""
    now = datetime.now(UTC)
    if data.incident_at is not None and data.incident_at.tzinfo is not None:
        invalid_field(
            "incident_at_offset",
            "Give incident_at as local time in Asia/Jakarta (WIB), without an offset",
            ["body", "incident_at"],
        )
    if data.incident_date > day_of(now):
        invalid_field(
            "incident_in_future", "The incident date is in the future", ["body", "incident_date"]
        )
    reported_at = _aware(data.reported_at)
    if reported_at > now + CLOCK_SKEW:
        invalid_field(
            "reported_in_future", "The report time is in the future", ["body", "reported_at"]
        )
    happened = incident_moment(data.incident_date, data.incident_at)
    if reported_at < happened:
        invalid_field(
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
            invalid_field("invalid_nik", "A NIK is 16 digits, sent as a string", ["body", "nik"])
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
        invalid_field(
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
        invalid_field(
            "officer_identifier",
            "Name the officer by exactly one of registration_id and nik",
            ["body", "registration_id"],
        )
    outcome = _outcome_of(data)
    _check_outcome_details(data, outcome)
    reported_at, warnings = _check_times(data)
    claimant_nik = _claimant_nik(data.claimant.nik)
    if await reference.find_region(session, data.place_region_code) is None:
        invalid_field(
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
        invalid_field(
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
    await events.record(
        session,
        EventType.CLAIM_CREATED,
        agreement_id=claim.agreement_id,
        claim_id=claim.id,
        registration_id=claim.registration_id,
        program=claim.program,
        incident_type=claim.incident_type,
        status="submitted",
        links={"claim": events.link("claims", claim.id)},
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
    return await claim_read(session, principal, claim, access_log, ENDPOINT_CREATE)
