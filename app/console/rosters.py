"""Console pages for rosters: the upload page, the upload itself and its batch's progress (for
the page's script), the batch's outcome with its rejected rows, and the errors file."""

import uuid
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import Response, StreamingResponse

from app.agreements import access
from app.agreements import service as agreements
from app.agreements.access import PartyRole
from app.console import sessions
from app.console.pages import base_context
from app.console.rendering import page
from app.console.routing import page_router, script_router
from app.console.sessions import ConsoleUserDep
from app.core.accesslog import AccessLogDep
from app.core.auth import ensure, ensure_any
from app.core.database import SessionDep
from app.core.responses import json_response
from app.rosters import service, views
from app.rosters.jobs import LauncherDep
from app.rosters.options import RosterParams
from app.rosters.schemas import OUTCOMES, counts_of

pages = page_router()
scripts = script_router()
PROBLEMS_SHOWN = 200


def batch_url(batch_id: uuid.UUID) -> str:
    return f"/console/unggahan/{batch_id}"


@pages.get("/perjanjian/{agreement_id}/unggah")
async def upload_page(
    request: Request, agreement_id: uuid.UUID, session: SessionDep, user: ConsoleUserDep
) -> Response:
    ensure(user.principal, "rosters:write")
    read = await agreements.read_agreement(session, user.principal, agreement_id=agreement_id)
    model = await agreements.get_visible_agreement(session, user.principal, agreement_id)
    context = await base_context(session, user, "perjanjian")
    context.update(
        agreement=read,
        is_counterpart=access.acts_as(user.principal, model, PartyRole.COUNTERPART),
    )
    return page(request, "upload.html", context)


@scripts.post("/perjanjian/{agreement_id}/unggah")
async def upload(
    request: Request,
    agreement_id: uuid.UUID,
    session: SessionDep,
    user: ConsoleUserDep,
    launch: LauncherDep,
    csrf: Annotated[str | None, Header(alias=sessions.CSRF_HEADER)] = None,
    content_type: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """The file as the body, as the API takes it; answers the batch and its page."""
    user.check_csrf(csrf)
    ensure(user.principal, "rosters:write")
    pushed = await service.push_roster(
        session,
        user.principal,
        agreement_id=agreement_id,
        body=request.stream(),
        params=RosterParams(content_type, None, None, None, None, idempotency_key),
        settings=request.app.state.settings,
        launch=launch,
    )
    body = _progress(pushed.batch) | {"page": batch_url(pushed.batch.id)}
    return json_response(body, 201 if pushed.status_code == 201 else 202)


def _progress(batch: Any) -> dict[str, Any]:
    return {
        "id": str(batch.id),
        "status": batch.status,
        "total_rows": batch.total_rows,
        "processed_rows": batch.processed_rows,
    }


@scripts.get("/unggahan/{batch_id}/status")
async def batch_status(batch_id: uuid.UUID, session: SessionDep, user: ConsoleUserDep) -> Response:
    ensure_any(user.principal, "rosters:write", "registrations:read")
    return json_response(_progress(await views.get_batch(session, user.principal, batch_id)))


@pages.get("/unggahan/{batch_id}")
async def batch_page(
    request: Request,
    batch_id: uuid.UUID,
    session: SessionDep,
    user: ConsoleUserDep,
    access_log: AccessLogDep,
) -> Response:
    principal = user.principal
    ensure_any(principal, "rosters:write", "registrations:read")
    batch = await views.get_batch(session, principal, batch_id)
    read = await agreements.read_agreement(session, principal, agreement_id=batch.agreement_id)
    shows_rows = principal.has("rosters:write") or principal.has("pii:read")
    problems = (
        await views.list_problems(
            session, principal, batch_id, limit=PROBLEMS_SHOWN, cursor=None, access_log=access_log
        )
        if shows_rows and batch.status == "completed"
        else None
    )
    counts = counts_of(batch.counts).model_dump()
    context = await base_context(session, user, "perjanjian")
    context.update(
        batch=batch,
        agreement=read,
        counts=[(outcome, counts[outcome]) for outcome in OUTCOMES],
        problems=problems,
        shows_rows=shows_rows,
        running=batch.status in ("received", "processing"),
    )
    return page(request, "batch.html", context)


@pages.get("/unggahan/{batch_id}/kesalahan.csv")
async def errors_file(
    request: Request,
    batch_id: uuid.UUID,
    session: SessionDep,
    user: ConsoleUserDep,
    access_log: AccessLogDep,
) -> Response:
    ensure_any(user.principal, "rosters:write", "pii:read")
    batch, body = await views.problems_file(
        session,
        user.principal,
        batch_id,
        export=views.ErrorsFormat.CSV,
        sessionmaker=request.app.state.sessionmaker,
        access_log=access_log,
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kesalahan-{batch.id}.csv"'},
    )
