"""Coverage rules: is a NIK covered on a day and why not, who sees what, KPJ numbers.

Answers are built as plain dicts from asyncpg Records and serialized with orjson: this is the
hottest path of the service, and pydantic models or ORM objects per row would cost more than
the database lookup itself. schemas.py describes the same shapes for the docs.
"""

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.core import audit
from app.core.accesslog import AccessLogWriter, record_reads
from app.core.auth import Principal
from app.core.clock import today
from app.core.collector import collector_paused
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable, constraint_of
from app.core.pagination import Page, decode_id_cursor, encode_cursor
from app.coverage import repository
from app.coverage.schemas import (
    MAX_KPJ_ITEMS,
    MAX_NIKS,
    AccessLogRead,
    CoverageCheckRequest,
    KpjBulkRequest,
    RegistrationKpjRead,
    RegistrationUpdate,
)
from app.models import AuditEntry
from app.nik import format_nik, mask_nik, nik_to_int

ENDPOINT_ONE = "GET /v1/coverage/{nik}"
ENDPOINT_MANY = "POST /v1/coverage/checks"
KPJ_CONSTRAINT = "ex_registrations_kpj_person"
COVERING = frozenset({"active", "terminated", "replaced"})

# Where a registration stands on the day asked about. When no registration covers the day the
# answer's reason is the highest-ranked state among them: a held registration spanning the day
# (coverage waits on a review), then one that would have covered it but was ended early
# (terminated), then one whose period is over (ended), then ones yet to start (not_started).
COVERS = 0
NOT_STARTED = 1
ENDED = 2
TERMINATED = 3
HELD = 4
REASONS = {NOT_STARTED: "not_started", ENDED: "ended", TERMINATED: "terminated", HELD: "held"}

INVALID_NIK_MESSAGE = "A NIK is 16 digits, sent as a string"
NUMBER_NIK_MESSAGE = "A NIK sent as a number may have lost digits: send it as a 16-digit string"
INVALID_KPJ_MESSAGE = "A KPJ number is 11 digits, sent as a string"


def parse_nik(raw: object) -> int | None:
    """The NIK to look up, or None when the input is not 16 digits (format only: a NIK with
    an odd province or birth date is still looked up, there is simply nothing under it)."""
    return nik_to_int(raw) if isinstance(raw, str) else None


def _nik_error(raw: object) -> dict[str, str]:
    is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
    return {"code": "invalid_nik", "msg": NUMBER_NIK_MESSAGE if is_number else INVALID_NIK_MESSAGE}


def parse_kpj(raw: object) -> str | None:
    """The KPJ as stored, or None when it is not 11 ASCII digits."""
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) == 11 and text.isascii() and text.isdigit():
            return text
    return None


def state_on(status: str, start: date, end: date, ended_on: date | None, on: date) -> int:
    """COVERS or the reason (a rank) one registration gives for `on`; rejected never get here."""
    if status in COVERING:
        last = end if ended_on is None else ended_on
        if start <= on <= last:
            return COVERS
        if on > end:
            return ENDED
        if on < start and (ended_on is None or ended_on >= start):
            return NOT_STARTED
        # Ended before `on` within its planned period, or cancelled before it began.
        return TERMINATED
    if on < start:
        return NOT_STARTED
    return ENDED if on > end else HELD


def answer(nik: int, on: date, rows: Sequence[Any], *, disclosure: "Disclosure") -> dict[str, Any]:
    """The coverage answer for one NIK from its registration rows (repository._SELECT order)."""
    registrations = []
    covered = False
    worst = 0
    everyone, parties = disclosure.all_registrations, disclosure.party_registrations
    for row in rows:
        _, id_, role, position, election, number, branch, programs = row[:8]
        start, end, ended_on, status, kpj, full_name, birth_date, party = row[8:]
        state = state_on(status, start, end, ended_on, on)
        full = everyone or (parties and party)
        item = {
            "id": id_,
            "role": role,
            "position": position,
            "election": election,
            "agreement_number": number,
            "bpjs_branch": branch,
            "programs": programs,
            "coverage_start": start,
            "coverage_end": end,
            "ended_on": ended_on,
            "status": status,
            "covers": state == COVERS,
            "masked": not full,
        }
        if full:
            item["kpj"] = kpj
            item["full_name"] = full_name
            item["birth_date"] = birth_date
        registrations.append(item)
        if state == COVERS:
            covered = True
        elif state > worst:
            worst = state
    reason = None
    if not covered:
        reason = REASONS[worst] if registrations else "not_registered"
    return {
        "nik": format_nik(nik) if disclosure.nik else mask_nik(nik),
        "on": on,
        "covered": covered,
        "reason": reason,
        "registrations": registrations,
    }


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What a caller may see: the NIK it asked about, and whose names, birth dates and KPJs.

    The NIK is the caller's own input, so pii:read alone unmasks it; personal data needs
    pii:read and party status to the registration's agreement, or an operator.
    """

    nik: bool
    all_registrations: bool
    party_registrations: bool

    @staticmethod
    def of(principal: Principal) -> "Disclosure":
        if not principal.has("pii:read"):
            return MASKED
        return OPERATOR if principal.is_operator else PARTY


# The three answers of Disclosure.of, made once: every coverage read asks.
MASKED = Disclosure(nik=False, all_registrations=False, party_registrations=False)
OPERATOR = Disclosure(nik=True, all_registrations=True, party_registrations=True)
PARTY = Disclosure(nik=True, all_registrations=False, party_registrations=True)


Connect = Callable[[], AbstractAsyncContextManager[Any]]


async def check_one(
    connect: Connect,
    principal: Principal,
    *,
    nik: str,
    on: date | None,
    access_log: AccessLogWriter | None,
) -> dict[str, Any]:
    """The answer for one NIK; `connect()` gives the asyncpg connection to read on."""
    value = parse_nik(nik)
    if value is None:
        raise Unprocessable(INVALID_NIK_MESSAGE, code="invalid_nik")
    day = on or today()
    disclosure = Disclosure.of(principal)
    async with connect() as connection:
        rows = await repository.coverage_of_nik(
            connection, value, principal.organization_id, personal=disclosure.nik
        )
        await record_reads(
            connection,
            access_log,
            api_key_id=principal.key_id,
            organization_id=principal.organization_id,
            endpoint=ENDPOINT_ONE,
            reads=[(value, len(rows))],
        )
    return answer(value, day, rows, disclosure=disclosure)


async def check_many_json(
    connect: Connect,
    principal: Principal,
    *,
    data: CoverageCheckRequest,
    access_log: AccessLogWriter | None,
) -> bytes:
    """`check_many`'s answer as JSON, built and encoded with the collector paused.

    The answer's objects are all freed before the collector is back on: alive then, the first
    collection after the pause would walk every one of them (measured, 15 ms a 10,000-NIK batch).
    """
    with collector_paused():
        return orjson.dumps(
            await check_many(connect, principal, data=data, access_log=access_log), default=str
        )


async def check_many(
    connect: Connect,
    principal: Principal,
    *,
    data: CoverageCheckRequest,
    access_log: AccessLogWriter | None,
) -> dict[str, Any]:
    """Answers in request order from one query over the distinct valid NIKs."""
    if (data.niks is None) == (data.items is None):
        raise Unprocessable("Send either `niks` or `items`", code="niks_or_items")
    default_on = data.on or today()
    entries: list[tuple[Any, date]]
    if data.niks is not None:
        entries = [(raw, default_on) for raw in data.niks]
    else:
        entries = [(item.nik, item.on or default_on) for item in data.items or ()]
    if len(entries) > MAX_NIKS:
        raise Unprocessable(
            f"At most {MAX_NIKS:,} NIKs per request; got {len(entries):,}", code="too_many_niks"
        )
    values = [parse_nik(raw) for raw, _ in entries]
    distinct = list(dict.fromkeys(value for value in values if value is not None))
    disclosure = Disclosure.of(principal)
    by_nik: dict[int, list[Any]] = {}
    answers: dict[tuple[int, date], dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    async with connect() as connection:
        if distinct:
            rows = await repository.coverage_of_niks(
                connection, distinct, principal.organization_id, personal=disclosure.nik
            )
            for row in rows:
                by_nik.setdefault(row[0], []).append(row)
        await record_reads(
            connection,
            access_log,
            api_key_id=principal.key_id,
            organization_id=principal.organization_id,
            endpoint=ENDPOINT_MANY,
            reads=[(value, len(by_nik.get(value, ()))) for value in distinct],
        )
    for (raw, on), value in zip(entries, values, strict=True):
        if value is None:
            echoed = raw if isinstance(raw, str) else None
            if echoed is not None and not disclosure.nik:
                echoed = mask_nik(echoed)
            results.append({"nik": echoed, "on": on, "error": _nik_error(raw)})
            continue
        found = answers.get((value, on))
        if found is None:
            found = answers[(value, on)] = answer(
                value, on, by_nik.get(value, ()), disclosure=disclosure
            )
        results.append(found)
    return {"on": default_on, "results": results}


async def list_access_log(
    session: AsyncSession,
    principal: Principal,
    *,
    nik: str | None,
    organization_id: uuid.UUID | None,
    api_key_id: uuid.UUID | None,
    since: date | None,
    limit: int,
    cursor: str | None,
) -> Page[AccessLogRead]:
    """Newest first. Operators only: the log itself says whose NIK was looked up."""
    if not principal.is_operator:
        raise Forbidden("Only operators may read the access log", code="operators_only")
    value = None
    if nik is not None:
        value = parse_nik(nik)
        if value is None:
            raise Unprocessable(INVALID_NIK_MESSAGE, code="invalid_nik")
    before_id = decode_id_cursor(cursor) if cursor is not None else None
    stmt = repository.access_log_query(
        nik=value,
        organization_id=organization_id,
        api_key_id=api_key_id,
        before_id=before_id,
        since=since,
    ).limit(limit + 1)
    entries = await repository.access_log_entries(session, stmt)
    next_cursor = encode_cursor([entries[limit - 1].id]) if len(entries) > limit else None
    items = [
        AccessLogRead(
            id=entry.id,
            at=entry.at,
            api_key_id=entry.api_key_id,
            organization_id=entry.organization_id,
            nik=format_nik(entry.nik),
            endpoint=entry.endpoint,
            registrations=entry.registrations,
        )
        for entry in entries[:limit]
    ]
    return Page(items=items, next_cursor=next_cursor)


def _is_kpj_clash(exc: IntegrityError) -> bool:
    return constraint_of(exc) == KPJ_CONSTRAINT


def _kpj_taken() -> Conflict:
    return Conflict("This KPJ number belongs to another NIK", code="kpj_taken")


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
    agreement = await repository.registration_agreement(session, registration_id, principal)
    if agreement is None:
        raise NotFound("No such registration", code="registration_not_found")
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden("Only the agreement's BPJS branch sets KPJ numbers", code="not_bpjs_branch")
    try:
        row = await repository.set_kpj(session, registration_id, kpj)
    except IntegrityError as exc:
        if _is_kpj_clash(exc):
            raise _kpj_taken() from None
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
        nik = parse_nik(item.nik)
        kpj = parse_kpj(item.kpj)
        if nik is None:
            results[index] = _invalid("invalid_nik", _nik_error(item.nik)["msg"])
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
                raise _kpj_taken() from None
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
