"""HTTP endpoints of the contributions domain: contributions, payments, summaries, reports."""

import uuid
from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import Response

from app.contributions import exports, payments, reports, service
from app.contributions.auth import PaymentsWrite, ReportsRead
from app.contributions.schemas import (
    BalanceRead,
    ContributionsRead,
    EnrolmentReport,
    PaymentCreate,
    PaymentRead,
    SummaryRead,
)
from app.core.database import SessionDep
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.replica import ReadSessionDep
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.core.values import MONTH_PATTERN

router = api_router(prefix="/v1", tags=["contributions"])

FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=MONTH_PATTERN,
        description="First month, `YYYY-MM` (default: the first month of the agreement's cohorts)",
        examples=["2024-11"],
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to",
        pattern=MONTH_PATTERN,
        description="Last month, `YYYY-MM` (default: the last month of the agreement's cohorts)",
        examples=["2024-12"],
    ),
]
AcceptHeader = Annotated[
    str | None,
    Header(
        alias="Accept",
        description="`application/json` (default), `text/csv` or `" + exports.XLSX_MEDIA_TYPE + "`",
    ),
]


@router.get(
    "/agreements/{agreement_id}/contributions",
    response_model=ContributionsRead,
    summary="Contributions due per cohort and month",
    description="Officer-months per cohort and calendar month (a registration covering any day "
    "of a month counts that month whole; active, terminated and replaced registrations count "
    "for the days they covered, held and rejected never), and the JKK and JKM amounts from "
    "the agreement's rates and the cohort's declared wage, in integer rupiah. A basis-point "
    "rate is rounded half up per officer-month (see `rates`).",
    responses=exports.report_responses(403, 404, description="Contribution lines and totals."),
)
async def get_contributions(
    agreement_id: uuid.UUID,
    session: ReadSessionDep,
    principal: ReportsRead,
    from_month: FromQuery = None,
    to_month: ToQuery = None,
    accept: AcceptHeader = None,
) -> ContributionsRead | Response:
    agreement, report = await service.get_contributions(
        session, principal, agreement_id=agreement_id, from_month=from_month, to_month=to_month
    )
    return await exports.answer(
        report,
        accept,
        exports.contributions_tables,
        "iuran",
        agreement.number,
        report.from_month or "",
        report.to_month or "",
    )


@router.get(
    "/agreements/{agreement_id}/balance",
    response_model=BalanceRead,
    summary="Contributions due, paid and outstanding per month",
    description=(
        "Months as `YYYY-MM` in `from`/`to` (default: the agreement's whole period). "
        "`Accept: text/csv` or the XLSX media type downloads the table with Indonesian headers."
    ),
    responses=exports.report_responses(403, 404, description="The balance per month."),
)
async def get_balance(
    agreement_id: uuid.UUID,
    session: ReadSessionDep,
    principal: ReportsRead,
    from_month: FromQuery = None,
    to_month: ToQuery = None,
    accept: AcceptHeader = None,
) -> BalanceRead | Response:
    agreement, report = await service.get_balance(
        session, principal, agreement_id=agreement_id, from_month=from_month, to_month=to_month
    )
    return await exports.answer(
        report, accept, exports.balance_tables, "saldo-iuran", agreement.number
    )


@router.post(
    "/agreements/{agreement_id}/payments",
    status_code=201,
    response_model=PaymentRead,
    summary="Record a contribution payment",
    description="By the agreement's payer or BPJS branch (or an operator), with "
    "`agreements:write`. The amount settles the listed months oldest first, each up to what "
    "it still owes; an over-payment stays on the last listed month as a credit. The reference "
    "is unique per agreement (409 `payment_reference_exists`); every month must be covered by "
    "a cohort (422 `month_outside_agreement`).",
    responses=problems(403, 404, 409, 415),
)
async def record_payment(
    agreement_id: uuid.UUID,
    request: Request,
    data: PaymentCreate,
    session: SessionDep,
    principal: PaymentsWrite,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        payment = await payments.record_payment(
            session, principal, agreement_id=agreement_id, data=data
        )
        return json_response(payment, 201)

    return await idempotent(session, principal, request, idempotency_key, create)


@router.get(
    "/agreements/{agreement_id}/payments",
    response_model=Page[PaymentRead],
    summary="List an agreement's payments, oldest first",
    description=(
        "Each payment with the months it settled and how much went to each; cursor pages."
    ),
    responses=problems(403, 404),
)
async def list_payments(
    agreement_id: uuid.UUID,
    session: SessionDep,
    principal: ReportsRead,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[PaymentRead]:
    return await payments.list_payments(
        session, principal, agreement_id=agreement_id, limit=limit, cursor=cursor
    )


@router.get(
    "/agreements/{agreement_id}/summary",
    response_model=SummaryRead,
    summary="Enrolment against plan per cohort and district, money and claims",
    description="Per cohort: planned headcount and registrations by status (terminated "
    "includes replaced), with active as a percentage of planned. Per district (kecamatan) of "
    "the assignment regions: the same counts, for districts with registrations. Contributions "
    "due, paid and outstanding over the whole agreement; claims by program and status.",
    responses=exports.report_responses(403, 404, description="The agreement's summary."),
)
async def get_summary(
    agreement_id: uuid.UUID,
    session: ReadSessionDep,
    principal: ReportsRead,
    accept: AcceptHeader = None,
) -> SummaryRead | Response:
    agreement, report = await reports.get_summary(session, principal, agreement_id=agreement_id)
    return await exports.answer(
        report, accept, exports.summary_tables, "ringkasan", agreement.number
    )


@router.get(
    "/reports/enrolment",
    response_model=EnrolmentReport,
    summary="Enrolment against plan per regency, for a province or the country",
    description="Per regency or city: agreements (active or ended), planned headcount, active "
    "registrations and their ratio. Operators see every agreement; other organizations only "
    "the agreements they are party to.",
    responses=exports.report_responses(403, description="The enrolment report."),
)
async def enrolment_report(
    session: ReadSessionDep,
    principal: ReportsRead,
    election: Annotated[
        str | None,
        Query(max_length=50, description="An election code", examples=["pilkada-2024"]),
    ] = None,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{2}$",
            description="A province code; omitted: the whole country",
            examples=["12"],
        ),
    ] = None,
    accept: AcceptHeader = None,
) -> EnrolmentReport | Response:
    report = await reports.enrolment_report(session, principal, election=election, region=region)
    return await exports.answer(
        report,
        accept,
        exports.enrolment_tables,
        "kepesertaan",
        region or "nasional",
        election or "",
    )
