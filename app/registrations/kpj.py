"""KPJ membership numbers: set by the agreement's BPJS branch, 11 digits, one person each."""

from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.core import audit
from app.core.auth import Principal
from app.core.errors import Forbidden, Unprocessable, constraint_of
from app.models import AuditEntry
from app.nik import nik_input_error, nik_of_input
from app.registrations import repository
from app.registrations.exceptions import KPJ_CONSTRAINT, kpj_taken, registration_not_found
from app.registrations.schemas import (
    MAX_KPJ_ITEMS,
    KpjBulkRequest,
    RegistrationKpjRead,
    RegistrationUpdate,
)

INVALID_KPJ_MESSAGE = "A KPJ number is 11 digits, sent as a string"


def parse_kpj(raw: object) -> str | None:
    """The KPJ as stored, or None when it is not 11 ASCII digits."""
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) == 11 and text.isascii() and text.isdigit():
            return text
    return None


def _is_kpj_clash(exc: IntegrityError) -> bool:
    return constraint_of(exc) == KPJ_CONSTRAINT


async def set_registration_kpj(
    session: AsyncSession,
    principal: Principal,
    *,
    registration_id: int,
    data: RegistrationUpdate,
) -> RegistrationKpjRead:
    """The agreement's BPJS branch (or an operator) sets or clears a registration's KPJ."""
    kpj = None
    if data.kpj is not None:
        kpj = parse_kpj(data.kpj)
        if kpj is None:
            raise Unprocessable(INVALID_KPJ_MESSAGE, code="invalid_kpj")
    found = await repository.get_registration(session, registration_id, principal)
    if found is None:
        raise registration_not_found()
    _, agreement = found
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden("Only the agreement's BPJS branch sets KPJ numbers", code="not_bpjs_branch")
    try:
        row = await repository.set_kpj(session, registration_id, kpj)
    except IntegrityError as exc:
        if _is_kpj_clash(exc):
            raise kpj_taken() from None
        raise
    audit.record(
        session,
        principal,
        action="registration.set_kpj",
        entity_type="registration",
        entity_id=registration_id,
        detail={"agreement_id": str(row.agreement_id), "cleared": kpj is None},
    )
    return RegistrationKpjRead(
        id=row.id, agreement_id=row.agreement_id, kpj=row.kpj, updated_at=row.updated_at
    )


def _invalid(code: str, msg: str) -> dict[str, Any]:
    return {"status": "invalid", "registrations": 0, "error": {"code": code, "msg": msg}}


async def set_kpjs(
    session: AsyncSession, principal: Principal, *, data: KpjBulkRequest
) -> dict[str, Any]:
    """Set KPJ numbers for a list of NIKs on the caller's agreements, in one statement.

    Each item ends `updated` (its NIK's registrations under the caller's agreements carry
    the KPJ), `not_found` (no such registration there), `invalid` (malformed NIK or KPJ, or
    one NIK given two KPJs) or `taken` (the KPJ belongs to another NIK, in the database or
    in this request).
    """
    items = data.items
    if len(items) > MAX_KPJ_ITEMS:
        raise Unprocessable(
            f"At most {MAX_KPJ_ITEMS:,} items per request; got {len(items):,}",
            code="too_many_items",
        )
    results: list[dict[str, Any] | None] = [None] * len(items)
    pairs: dict[int, tuple[int, str]] = {}
    for index, item in enumerate(items):
        nik = nik_of_input(item.nik)
        kpj = parse_kpj(item.kpj)
        if nik is None:
            results[index] = _invalid("invalid_nik", nik_input_error(item.nik)["msg"])
        elif kpj is None:
            results[index] = _invalid("invalid_kpj", INVALID_KPJ_MESSAGE)
        else:
            pairs[index] = (nik, kpj)
    kpjs_of: dict[int, set[str]] = {}
    niks_of: dict[str, set[int]] = {}
    for nik, kpj in pairs.values():
        kpjs_of.setdefault(nik, set()).add(kpj)
        niks_of.setdefault(kpj, set()).add(nik)
    for index, (nik, kpj) in list(pairs.items()):
        if len(kpjs_of[nik]) > 1:
            results[index] = _invalid("conflicting_kpj", "This NIK is given two KPJ numbers")
            del pairs[index]
        elif len(niks_of[kpj]) > 1:
            results[index] = {
                "status": "taken",
                "registrations": 0,
                "error": {"code": "kpj_taken", "msg": "Another NIK in this request has this KPJ"},
            }
            del pairs[index]
    unique = list(dict.fromkeys(pairs.values()))
    outcome: dict[tuple[int, str], dict[str, Any]] = {}
    changed: list[int] = []
    if unique:
        branch = None if principal.is_operator else principal.organization_id
        try:
            rows = await repository.set_kpjs(
                session, [nik for nik, _ in unique], [kpj for _, kpj in unique], branch
            )
        except IntegrityError as exc:
            # Another request set one of these KPJs for another NIK in the meantime.
            if _is_kpj_clash(exc):
                raise kpj_taken() from None
            raise
        for pair, row in zip(unique, rows, strict=True):
            changed.extend(row.changed)
            if row.reached == 0:
                outcome[pair] = {"status": "not_found", "registrations": 0}
            elif row.taken:
                outcome[pair] = {
                    "status": "taken",
                    "registrations": 0,
                    "error": {"code": "kpj_taken", "msg": "This KPJ belongs to another NIK"},
                }
            else:
                outcome[pair] = {"status": "updated", "registrations": row.reached}
    for index, pair in pairs.items():
        results[index] = outcome[pair]
    if changed:
        await session.execute(
            insert(AuditEntry),
            [
                {
                    "actor_key_id": principal.key_id,
                    "actor_organization_id": principal.organization_id,
                    "action": "registration.set_kpj",
                    "entity_type": "registration",
                    "entity_id": str(registration_id),
                    "detail": {"bulk": True, "cleared": False},
                }
                for registration_id in changed
            ],
        )
    final = [result for result in results if result is not None]
    counts: dict[str, int] = {}
    for result in final:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return {"results": final, "counts": counts}
