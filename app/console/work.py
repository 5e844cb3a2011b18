"""Console pages for the daily work: held registrations and resolving them, a coverage check
for one NIK, and the claims queue where a BPJS reviewer moves a claim."""

import uuid
from datetime import date
from functools import partial
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import service as agreements
from app.agreements.access import PartyRole
from app.claims import views as claims
from app.claims import workflow
from app.claims.repository import ClaimFilters
from app.claims.schemas import ClaimStatus, TransitionCreate
from app.console import sessions
from app.console.pages import base_context
from app.console.rendering import message_of, page, read_form
from app.console.routing import page_router
from app.console.sessions import ConsoleUser, ConsoleUserDep
from app.core.accesslog import AccessLogDep, access_log_writer
from app.core.auth import ensure, ensure_any
from app.core.clock import day_of, today
from app.core.database import SessionDep
from app.core.errors import AppError, Unprocessable
from app.coverage import service as coverage
from app.coverage.runtime import lookup_connection
from app.models import Agreement
from app.registrations import service as registrations
from app.registrations.endpoints import RegistrationId
from app.registrations.schemas import RegistrationResolve

router = page_router()
HELD_LIMIT = 50
CLAIMS_LIMIT = 20
CLAIM_STATUSES: tuple[ClaimStatus, ...] = ("submitted", "verified", "approved", "paid", "rejected")
Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], fields: dict[str, Any]) -> Model:
    """The form as the API's request schema, refused as 422 the way the API refuses it."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v not in ("", None)})
    except ValidationError as exc:
        raise Unprocessable(str(exc.errors()[0]["msg"]), code="validation_error") from None


async def _agreements(
    session: AsyncSession, user: ConsoleUser, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Agreement]:
    return {i: await agreements.get_visible_agreement(session, user.principal, i) for i in ids}


# Held registrations


@router.get("/ditahan")
async def held_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUserDep,
    access_log: AccessLogDep,
    cursor: str | None = None,
    notice: str | None = None,
) -> Response:
    return await _held(request, session, user, access_log, cursor=cursor, notice=notice)


async def _held(
    request: Request,
    session: AsyncSession,
    user: ConsoleUser,
    access_log: Any,
    *,
    cursor: str | None = None,
    notice: str | None = None,
    error: AppError | None = None,
) -> Response:
    principal = user.principal
    ensure(principal, "registrations:read")
    held = await registrations.list_registrations(
        session, principal, status="held", limit=HELD_LIMIT, cursor=cursor, access_log=access_log
    )
    models = await _agreements(session, user, {r.agreement_id for r in held.items})
    resolvable = {
        id_
        for id_, model in models.items()
        if principal.has("agreements:write")
        and access.acts_as(principal, model, PartyRole.BPJS_BRANCH)
    }
    context = await base_context(session, user, "ditahan")
    context.update(
        items=held.items,
        resolvable=resolvable,
        next_cursor=held.next_cursor,
        notice=notice,
        error=error,
        message=message_of(error) if error else None,
    )
    return page(request, "held.html", context, status=error.status if error else 200)


@router.post("/ditahan/{registration_id}")
async def resolve(
    request: Request,
    registration_id: RegistrationId,
    session: SessionDep,
    user: ConsoleUserDep,
    access_log: AccessLogDep,
) -> Response:
    form = await read_form(request)
    user.check_csrf(form.get(sessions.CSRF_FIELD))
    try:
        ensure(user.principal, "agreements:write")
        data = parse(RegistrationResolve, {"action": form.get("action"), "note": form.get("note")})
        done = await registrations.resolve_registration(
            session, user.principal, registration_id=registration_id, data=data
        )
        await session.flush()  # what the database refuses, refused here (the page says so)
    except AppError as error:
        await session.rollback()
        return await _held(request, session, user, access_log, error=error)
    notice = f"{done.id}-{done.status}"
    return RedirectResponse(f"/console/ditahan?notice={notice}", status_code=303)


# Coverage check


@router.get("/cek")
async def coverage_form(request: Request, session: SessionDep, user: ConsoleUserDep) -> Response:
    ensure(user.principal, "coverage:read")
    context = await base_context(session, user, "cek")
    context.update(result=None, on=today(), nik="")
    return page(request, "coverage.html", context)


@router.post("/cek")
async def coverage_check(request: Request, session: SessionDep, user: ConsoleUserDep) -> Response:
    """A POST, so that the NIK is in no URL (nor in any log of URLs)."""
    form = await read_form(request)
    user.check_csrf(form.get(sessions.CSRF_FIELD))
    ensure(user.principal, "coverage:read")
    context = await base_context(session, user, "cek")
    nik = form.get("nik", "").strip()
    try:
        on = date.fromisoformat(form["on"]) if form.get("on") else None
    except ValueError:
        on = None
        context.update(message=message_of(Unprocessable(code="invalid_date")), code="invalid_date")
    if "code" not in context:
        try:
            result = await coverage.check_one(
                partial(lookup_connection, request.app),
                user.principal,
                nik=nik,
                on=on,
                access_log=access_log_writer(request.app),
            )
            context.update(result=result)
        except AppError as error:
            context.update(message=message_of(error), code=error.code)
    context.setdefault("result", None)
    context.update(on=on or today(), nik="")
    return page(request, "coverage.html", context, status=422 if "code" in context else 200)


# Claims


@router.get("/klaim")
async def claims_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUserDep,
    access_log: AccessLogDep,
    status: ClaimStatus = "submitted",
    cursor: str | None = None,
    notice: str | None = None,
) -> Response:
    return await _claims(request, session, user, access_log, status, cursor=cursor, notice=notice)


async def _claims(
    request: Request,
    session: AsyncSession,
    user: ConsoleUser,
    access_log: Any,
    status: ClaimStatus,
    *,
    cursor: str | None = None,
    notice: str | None = None,
    error: AppError | None = None,
) -> Response:
    principal = user.principal
    ensure_any(principal, "claims:write", "claims:review")
    # The full claims: their missing documents and history show in the queue.
    listed = await claims.list_full_claims(
        session,
        principal,
        filters=ClaimFilters(status=status),
        limit=CLAIMS_LIMIT,
        cursor=cursor,
        access_log=access_log,
    )
    full = listed.items
    models = await _agreements(session, user, {c.agreement_id for c in full})
    reviewer = {
        id_
        for id_, model in models.items()
        if principal.has("claims:review")
        and access.acts_as(principal, model, PartyRole.BPJS_BRANCH)
    }
    rows = [
        {
            "claim": claim,
            "agreement_number": models[claim.agreement_id].number,
            "waiting": (
                today() - day_of(claim.history[-1].at if claim.history else claim.created_at)
            ).days,
            "moves": sorted(
                (to for source, to in workflow.MOVES if source == claim.status),
                key=lambda to: (to == "rejected", to),
            ),
            "reviewer": claim.agreement_id in reviewer,
        }
        for claim in full
    ]
    context = await base_context(session, user, "klaim")
    context.update(
        rows=rows,
        status=status,
        statuses=CLAIM_STATUSES,
        next_cursor=listed.next_cursor,
        notice=notice,
        error=error,
        message=message_of(error) if error else None,
        today=today(),
    )
    return page(request, "claims.html", context, status=error.status if error else 200)


@router.post("/klaim/{claim_id}")
async def move_claim(
    request: Request,
    claim_id: uuid.UUID,
    session: SessionDep,
    user: ConsoleUserDep,
    access_log: AccessLogDep,
) -> Response:
    """The claim's version from the page is its If-Match: a stale page is refused (412)."""
    form = await read_form(request)
    user.check_csrf(form.get(sessions.CSRF_FIELD))
    back: ClaimStatus = "submitted"
    try:
        ensure(user.principal, "claims:review")
        current = claims_status(form.get("status"))
        back = current
        data = parse(
            TransitionCreate,
            {k: form.get(k) for k in ("to", "note", "paid_on", "transfer_reference")},
        )
        version = form.get("version")
        moved = await workflow.transition(
            session,
            user.principal,
            claim_id=claim_id,
            if_match=f'"{version}"' if version else None,
            data=data,
            access_log=access_log,
        )
        await session.flush()
    except AppError as error:
        await session.rollback()
        return await _claims(request, session, user, access_log, back, error=error)
    return RedirectResponse(f"/console/klaim?status={back}&notice={moved.status}", status_code=303)


def claims_status(value: str | None) -> ClaimStatus:
    for status in CLAIM_STATUSES:
        if value == status:
            return status
    raise Unprocessable("Unknown claim status", code="console_choice_invalid")
