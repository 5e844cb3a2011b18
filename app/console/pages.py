"""Console pages: signing in and out, the agreements list and one agreement."""

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import service as agreements
from app.agreements.access import PartyRole
from app.agreements.schemas import AgreementRead
from app.console import charts, sessions
from app.console.rendering import message_of, page, read_form
from app.console.routing import page_router
from app.console.sessions import ConsoleUser, ConsoleUserDep
from app.contributions import reports
from app.contributions import service as contributions
from app.core.auth import ensure
from app.core.database import SessionDep
from app.core.errors import AppError
from app.organizations.service import get_organization
from app.reference.service import find_region

router = page_router()
LIST_LIMIT = 100
# A province-wide agreement has a hundred kecamatan and more: the chart shows the largest.
CHARTED_DISTRICTS = 30


async def names_of(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {id_: (await get_organization(session, id_)).name for id_ in ids}


async def base_context(session: AsyncSession, user: ConsoleUser, nav: str) -> dict[str, Any]:
    organization = user.principal.organization_id
    name = (await get_organization(session, organization)).name if organization else "Operator"
    return {"user": user, "organization_name": name, "nav": nav}


@router.get("")
async def home(user: ConsoleUserDep) -> Response:
    return RedirectResponse(sessions.home_of(user.principal), status_code=303)


@router.get("/masuk")
async def sign_in_form(request: Request, lanjut: str | None = None) -> Response:
    return _sign_in_page(request, lanjut, error=None, status=200)


def _sign_in_page(
    request: Request, lanjut: str | None, *, error: AppError | None, status: int
) -> HTMLResponse:
    csrf = sessions.sign_in_csrf(request)
    response = page(
        request,
        "signin.html",
        {
            "csrf": csrf,
            "next": sessions.safe_next(lanjut) or "",
            "error": error,
            "message": message_of(error) if error else None,
        },
        status=status,
    )
    sessions.set_sign_in_cookie(request, response, csrf)
    return response


@router.post("/masuk")
async def sign_in(request: Request, session: SessionDep) -> Response:
    form = await read_form(request)
    sessions.check_sign_in_csrf(request, form.get(sessions.CSRF_FIELD))
    try:
        token, principal = await sessions.sign_in(request, session, form.get("api_key", ""))
    except AppError as error:
        await session.rollback()
        return _sign_in_page(request, form.get("lanjut"), error=error, status=error.status)
    target = sessions.safe_next(form.get("lanjut")) or sessions.home_of(principal)
    response = RedirectResponse(target, status_code=303)
    sessions.set_session_cookie(request, response, token)
    return response


@router.post("/keluar")
async def sign_out(request: Request, session: SessionDep, user: ConsoleUserDep) -> Response:
    form = await read_form(request)
    user.check_csrf(form.get(sessions.CSRF_FIELD))
    await sessions.sign_out(session, user)
    response = RedirectResponse(sessions.SIGN_IN_PATH, status_code=303)
    sessions.clear_session_cookie(response)
    return response


@router.get("/perjanjian")
async def agreements_page(
    request: Request, session: SessionDep, user: ConsoleUserDep, cursor: str | None = None
) -> Response:
    ensure(user.principal, "agreements:read")
    listed = await agreements.list_agreements(
        session,
        user.principal,
        election=None,
        status=None,
        region_code=None,
        counterpart_id=None,
        bpjs_branch_id=None,
        limit=LIST_LIMIT,
        cursor=cursor,
    )
    names = await names_of(
        session, {a.counterpart_id for a in listed.items} | {a.payer_id for a in listed.items}
    )
    rows = [{"agreement": a, "period": _period(a)} for a in listed.items]
    context = await base_context(session, user, "perjanjian")
    context.update(rows=rows, names=names, next_cursor=listed.next_cursor)
    return page(request, "agreements.html", context)


def _period(agreement: AgreementRead) -> tuple[Any, Any] | None:
    if not agreement.cohorts:
        return None
    return (
        min(c.coverage_start for c in agreement.cohorts),
        max(c.coverage_end for c in agreement.cohorts),
    )


@router.get("/perjanjian/{agreement_id}")
async def agreement_page(
    request: Request, agreement_id: uuid.UUID, session: SessionDep, user: ConsoleUserDep
) -> Response:
    principal = user.principal
    ensure(principal, "agreements:read")
    read = await agreements.read_agreement(session, principal, agreement_id=agreement_id)
    model = await agreements.get_visible_agreement(session, principal, agreement_id)
    region = await find_region(session, read.region_code)
    context = await base_context(session, user, "perjanjian")
    context.update(
        agreement=read,
        region_name=region.name if region else None,
        names=await names_of(session, {read.bpjs_branch_id, read.counterpart_id, read.payer_id}),
        period=_period(read),
        timeline=charts.timeline(
            [charts.Period(c.role, c.coverage_start, c.coverage_end) for c in read.cohorts],
            "Masa perlindungan per kelompok petugas",
        ),
        can_upload=principal.has("rosters:write")
        and access.acts_as(principal, model, PartyRole.COUNTERPART)
        and read.status == "active",
        reports=principal.has("reports:read"),
    )
    if principal.has("reports:read"):
        context.update(await _report_context(session, user, agreement_id))
    return page(request, "agreement.html", context)


async def _report_context(
    session: AsyncSession, user: ConsoleUser, agreement_id: uuid.UUID
) -> dict[str, Any]:
    _, summary = await reports.get_summary(session, user.principal, agreement_id=agreement_id)
    _, balance = await contributions.get_balance(
        session, user.principal, agreement_id=agreement_id, from_month=None, to_month=None
    )
    districts = sorted(summary.districts, key=lambda d: (-d.active, d.district_code))
    return {
        "summary": summary,
        "districts": districts,
        "balance": balance,
        "cohort_chart": charts.plan_bars(
            [charts.PlanBar(c.role, c.active, c.planned) for c in summary.cohorts],
            "Terdaftar aktif dibanding rencana, per kelompok petugas",
        ),
        "district_chart": charts.stacked_bars(
            [
                charts.StackBar(d.district_name or d.district_code, d.active, d.held)
                for d in districts[:CHARTED_DISTRICTS]
            ],
            "Petugas terdaftar per kecamatan (aktif dan ditahan)",
        ),
        "charted_districts": min(len(districts), CHARTED_DISTRICTS),
        "money_chart": charts.month_pairs(
            [charts.MonthPair(m.month, m.due, m.paid) for m in balance.months],
            "Iuran terutang dan dibayar per bulan",
        ),
    }
