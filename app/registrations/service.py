"""Registrations: who may see them, their personal data, termination and resolving held ones."""

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.core import audit
from app.core.accesslog import AccessLogWriter, record_session_reads
from app.core.auth import Principal
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable, constraint_of
from app.core.pagination import Page, decode_id_cursor, page_of
from app.events import service as events
from app.events.types import EventType
from app.models import COVERING_STATUSES, Agreement, Registration, RegistrationStatus
from app.nik import format_nik, mask_nik
from app.registrations import repository
from app.registrations.exceptions import EXCLUSION_CONSTRAINT, transfer_conflict
from app.registrations.repository import RegistrationFilters
from app.registrations.schemas import (
    ConflictRead,
    RegistrationRead,
    RegistrationResolve,
    RegistrationTerminate,
)

ONE_DAY = timedelta(days=1)
ENDPOINT_LIST = "GET /v1/registrations"
ENDPOINT_READ = "GET /v1/registrations/{id}"


def parse_nik(raw: str) -> int:
    text = raw.strip()
    if len(text) != 16 or not text.isascii() or not text.isdigit() or text[0] == "0":
        raise Unprocessable("A NIK is 16 digits and does not start with 0", code="invalid_nik")
    return int(text)


def to_read(
    registration: Registration, agreement_number: str, *, show_pii: bool
) -> RegistrationRead:
    conflict = (
        ConflictRead.model_validate(registration.conflict)
        if registration.conflict is not None
        else None
    )
    return RegistrationRead(
        id=registration.id,
        nik=format_nik(registration.nik) if show_pii else mask_nik(registration.nik),
        full_name=registration.full_name if show_pii else None,
        birth_date=registration.birth_date if show_pii else None,
        sex=registration.sex,
        phone=registration.phone if show_pii else None,
        agreement_id=registration.agreement_id,
        agreement_number=agreement_number,
        cohort_id=registration.cohort_id,
        role=registration.role_code,
        position=registration.position,
        region_code=registration.region_code,
        tps=registration.tps,
        coverage_start=registration.coverage_start,
        coverage_end=registration.coverage_end,
        ended_on=registration.ended_on,
        status=registration.status,
        end_reason=registration.end_reason,
        replaces_id=registration.replaces_id,
        conflict=conflict,
        kpj=registration.kpj if show_pii else None,
        nik_warnings=list(registration.nik_warnings or ()),
        batch_id=registration.batch_id,
        created_at=registration.created_at,
        updated_at=registration.updated_at,
    )


def _shows_pii(principal: Principal) -> bool:
    return principal.has("pii:read")


def _read(
    registration: Registration, agreement_number: str, principal: Principal
) -> RegistrationRead:
    return to_read(registration, agreement_number, show_pii=_shows_pii(principal))


async def _log_personal_reads(
    session: AsyncSession,
    principal: Principal,
    access_log: AccessLogWriter | None,
    endpoint: str,
    registrations: Sequence[Registration],
) -> None:
    """An access-log row per registration shown with its personal data (UU 27/2022)."""
    if _shows_pii(principal):
        await record_session_reads(
            session,
            access_log,
            principal,
            endpoint=endpoint,
            reads=[(registration.nik, 1) for registration in registrations],
        )


async def list_registrations(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID | None = None,
    cohort_id: uuid.UUID | None = None,
    role: str | None = None,
    region: str | None = None,
    status: str | None = None,
    nik: str | None = None,
    limit: int,
    cursor: str | None,
    access_log: AccessLogWriter | None,
) -> Page[RegistrationRead]:
    filters = RegistrationFilters(
        agreement_id=agreement_id,
        cohort_id=cohort_id,
        role=role,
        region_prefix=region,
        status=status,
        nik=parse_nik(nik) if nik is not None else None,
    )
    after_id = decode_id_cursor(cursor) if cursor is not None else None
    rows = await repository.list_registrations(
        session, filters, principal, after_id=after_id, limit=limit + 1
    )
    shown, next_cursor = page_of(rows, limit, lambda row: [row[0].id])
    await _log_personal_reads(
        session, principal, access_log, ENDPOINT_LIST, [row[0] for row in shown]
    )
    return Page(items=[_read(row[0], row[1], principal) for row in shown], next_cursor=next_cursor)


async def _visible(
    session: AsyncSession, principal: Principal, registration_id: int, *, for_update: bool = False
) -> tuple[Registration, Agreement]:
    found = await repository.get_registration(
        session, registration_id, principal, for_update=for_update
    )
    if found is None:
        raise NotFound("No such registration", code="registration_not_found")
    return found


async def _reread(
    session: AsyncSession, principal: Principal, registration_id: int
) -> RegistrationRead:
    registration, agreement = await _visible(session, principal, registration_id)
    return _read(registration, agreement.number, principal)


async def get_registration(
    session: AsyncSession,
    principal: Principal,
    *,
    registration_id: int,
    access_log: AccessLogWriter | None,
) -> RegistrationRead:
    registration, agreement = await _visible(session, principal, registration_id)
    await _log_personal_reads(session, principal, access_log, ENDPOINT_READ, [registration])
    return _read(registration, agreement.number, principal)


async def terminate_registration(
    session: AsyncSession,
    principal: Principal,
    *,
    registration_id: int,
    data: RegistrationTerminate,
) -> RegistrationRead:
    """Ends an active registration early: the counterpart, the BPJS branch, or an operator.

    The endpoint has checked the scopes (registrations/auth.py); here, the party each allows.
    """
    registration, agreement = await _visible(session, principal, registration_id, for_update=True)
    if not principal.is_operator:
        roles = access.party_roles(principal, agreement)
        as_counterpart = PartyRole.COUNTERPART in roles and principal.has("rosters:write")
        as_branch = PartyRole.BPJS_BRANCH in roles and principal.has("agreements:write")
        if not (as_counterpart or as_branch):
            raise Forbidden(
                "Only the agreement's counterpart (rosters:write) or BPJS branch "
                "(agreements:write) may terminate its registrations",
                code="not_agreement_party",
            )
    if registration.status != RegistrationStatus.ACTIVE:
        raise Conflict(
            f"Only an active registration can be terminated; this one is {registration.status}",
            code="invalid_transition",
        )
    earliest = registration.coverage_start - ONE_DAY
    if not earliest <= data.ended_on <= registration.coverage_end:
        raise Unprocessable(
            f"ended_on must lie between {earliest} (the day before coverage starts) "
            f"and {registration.coverage_end}",
            code="termination_date_invalid",
        )
    # The row is locked, so the state read above still holds.
    await repository.terminate(session, registration_id, ended_on=data.ended_on, reason=data.reason)
    await _announce_ended(session, registration, RegistrationStatus.TERMINATED, data.ended_on)
    audit.record(
        session,
        principal,
        action="registration.terminate",
        entity_type="registration",
        entity_id=registration_id,
        detail={"agreement_id": str(registration.agreement_id), "ended_on": str(data.ended_on)},
    )
    return await _reread(session, principal, registration_id)


async def resolve_registration(
    session: AsyncSession, principal: Principal, *, registration_id: int, data: RegistrationResolve
) -> RegistrationRead:
    """Rejects a held registration, or transfers coverage to it from the one it collided with."""
    registration, agreement = await _visible(session, principal, registration_id, for_update=True)
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden(
            "Only the agreement's BPJS branch may resolve its held registrations",
            code="not_agreement_branch",
        )
    if registration.status != RegistrationStatus.HELD:
        raise Conflict(
            f"Only a held registration can be resolved; this one is {registration.status}",
            code="not_held",
        )
    detail: dict[str, Any] = {
        "action": data.action,
        "agreement_id": str(registration.agreement_id),
        "conflict_registration_id": registration.conflict_registration_id,
    }
    if data.note:
        detail["note"] = data.note
    if data.action == "reject":
        await repository.set_held_status(
            session, registration_id, status=RegistrationStatus.REJECTED
        )
    else:
        await _transfer(session, principal, registration)
    await events.record(
        session,
        EventType.REGISTRATION_RESOLVED,
        agreement_id=registration.agreement_id,
        registration_id=registration_id,
        action=data.action,
        status=RegistrationStatus.REJECTED
        if data.action == "reject"
        else RegistrationStatus.ACTIVE,
        links={"registration": events.link("registrations", registration_id)},
    )
    audit.record(
        session,
        principal,
        action="registration.resolve",
        entity_type="registration",
        entity_id=registration_id,
        detail=detail,
    )
    return await _reread(session, principal, registration_id)


async def _announce_ended(
    session: AsyncSession, registration: Registration, status: str, ended_on: date
) -> None:
    await events.record(
        session,
        EventType.REGISTRATION_ENDED,
        agreement_id=registration.agreement_id,
        registration_id=registration.id,
        status=status,
        ended_on=str(ended_on),
        links={"registration": events.link("registrations", registration.id)},
    )


def _last_day(registration: Registration) -> date:
    return registration.ended_on or registration.coverage_end


async def _transfer(session: AsyncSession, principal: Principal, held: Registration) -> None:
    """Ends the other registration the day before `held` starts, then activates `held`.

    Both changes run in a savepoint: if the database still refuses the activation (a third
    covering registration overlaps), neither stays.
    """
    other_id = held.conflict_registration_id
    other = await repository.lock_registration(session, other_id) if other_id else None
    if (
        other is None
        or other.nik != held.nik
        or other.status not in COVERING_STATUSES
        or not other.coverage_start <= _last_day(other)
        or not (
            other.coverage_start <= held.coverage_end and _last_day(other) >= held.coverage_start
        )
    ):
        raise transfer_conflict(
            "The registration this one was held for no longer overlaps it; nothing to transfer"
        )
    ended_on = held.coverage_start - ONE_DAY
    if other.coverage_start > held.coverage_start:
        raise transfer_conflict(
            "The other registration starts after this one, so it cannot end the day before"
        )
    previous = {"status": other.status, "ended_on": str(other.ended_on) if other.ended_on else None}
    try:
        async with session.begin_nested():
            await repository.end_for_transfer(
                session,
                other.id,
                ended_on=ended_on,
                reason=f"transferred to registration {held.id}",
            )
            await repository.set_held_status(session, held.id, status=RegistrationStatus.ACTIVE)
    except IntegrityError as exc:
        if constraint_of(exc) != EXCLUSION_CONSTRAINT:
            raise
        raise transfer_conflict(
            "Another covering registration of this NIK still overlaps; nothing was changed"
        ) from exc
    # The other registration is of another agreement, most often of the other body: its
    # parties hear of it under their agreement.
    was = previous["status"]
    ended = RegistrationStatus.TERMINATED if was == RegistrationStatus.ACTIVE else str(was)
    await _announce_ended(session, other, ended, ended_on)
    audit.record(
        session,
        principal,
        action="registration.end_by_transfer",
        entity_type="registration",
        entity_id=other.id,
        detail={
            "transferred_to_registration_id": held.id,
            "ended_on": str(ended_on),
            "previous_status": previous["status"],
            "previous_ended_on": previous["ended_on"],
        },
    )
