"""HTTP endpoints of the agreements domain: agreements (PKS), their lifecycle and cohorts."""

import uuid
from typing import Annotated

from fastapi import Header, Query, Request, Response

from app.agreements import cohorts, service
from app.agreements.auth import AgreementsRead, AgreementsWrite
from app.agreements.schemas import (
    AgreementCreate,
    AgreementEnd,
    AgreementRead,
    AgreementStatus,
    AgreementUpdate,
    CohortCreate,
    CohortRead,
    CohortUpdate,
    ElectionCode,
    RegionFilter,
)
from app.core.database import SessionDep
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.core.versions import etag

router = api_router(prefix="/v1", tags=["agreements"])

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=200,
        description='The `ETag` of your last read, e.g. `"3"`',
    ),
]


@router.post(
    "/agreements",
    status_code=201,
    response_model=AgreementRead,
    summary="Create an agreement (draft) with its rates and cohorts",
    description=(
        "The caller's organization must be the BPJS branch (`bpjs_branch_id`), unless it is an "
        "operator. `payer_id` defaults to the counterpart. `rates` per program: "
        '`{"JKK": {"basis_points": 100}, "JKM": {"flat_amount": 6800}}` (the defaults). '
        "Each cohort lies within its election's window (18 months before voting day to 6 after) "
        "and its role belongs to the counterpart's body. Send `Idempotency-Key` to retry safely."
    ),
    responses=problems(403, 409, 415),
)
async def create_agreement(
    request: Request,
    data: AgreementCreate,
    session: SessionDep,
    principal: AgreementsWrite,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        read = await service.create_agreement(session, principal, data=data)
        headers = {**etag(read.version), "Location": f"/v1/agreements/{read.id}"}
        return json_response(read, 201, headers)

    return await idempotent(session, principal, request, idempotency_key, create)


@router.get(
    "/agreements",
    response_model=Page[AgreementRead],
    summary="List the agreements the caller is party to (operators: all)",
    description=(
        "Oldest first, in cursor pages (`limit`, then `cursor` = the previous page's "
        "`next_cursor`). A BPJS branch, counterpart or payer sees the agreements it is party "
        "to; the filters narrow that set."
    ),
    responses=problems(403),
)
async def list_agreements(
    session: SessionDep,
    principal: AgreementsRead,
    election: Annotated[ElectionCode | None, Query(description="Election code")] = None,
    status: AgreementStatus | None = None,
    region: Annotated[
        RegionFilter | None,
        Query(description="A region code: agreements of that region or inside it", examples=["16"]),
    ] = None,
    counterpart_id: uuid.UUID | None = None,
    bpjs_branch_id: uuid.UUID | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AgreementRead]:
    return await service.list_agreements(
        session,
        principal,
        election=election,
        status=status,
        region_code=region,
        counterpart_id=counterpart_id,
        bpjs_branch_id=bpjs_branch_id,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/agreements/{agreement_id}",
    response_model=AgreementRead,
    summary="Read an agreement with its rates and cohorts; `ETag` carries its version",
    description=(
        "Send the `ETag` back as `If-Match` on PATCH and the lifecycle actions. "
        "Another organization's agreement answers 404, as a missing one does."
    ),
    responses=problems(403, 404),
)
async def get_agreement(
    agreement_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    principal: AgreementsRead,
) -> AgreementRead:
    read = await service.read_agreement(session, principal, agreement_id=agreement_id)
    response.headers.update(etag(read.version))
    return read


@router.patch(
    "/agreements/{agreement_id}",
    response_model=AgreementRead,
    summary="Edit a draft agreement (`If-Match` required)",
    description=(
        "Editable while draft: `number`, `payer_id`, `region_code`, `signed_on`, "
        "`signed_place`, `programs`, `rates` (a rate given replaces that program's; programs "
        "without one keep theirs or take the default). The BPJS branch, counterpart and election "
        "are fixed: cancel and create anew. Cohorts: `PATCH .../cohorts/{id}`."
    ),
    responses=problems(403, 404, 409, 412, 415, 428),
)
async def update_agreement(
    agreement_id: uuid.UUID,
    data: AgreementUpdate,
    response: Response,
    session: SessionDep,
    principal: AgreementsWrite,
    if_match: IfMatchHeader = None,
) -> AgreementRead:
    read = await service.update_agreement(
        session, principal, agreement_id=agreement_id, if_match=if_match, data=data
    )
    response.headers.update(etag(read.version))
    return read


@router.post(
    "/agreements/{agreement_id}/activate",
    response_model=AgreementRead,
    summary="Activate a signed draft agreement with at least one cohort",
    description="Registrations are taken only while the agreement is active. `If-Match` optional.",
    responses=problems(403, 404, 409, 412),
)
async def activate_agreement(
    agreement_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    principal: AgreementsWrite,
    if_match: IfMatchHeader = None,
) -> AgreementRead:
    read = await service.transition(
        session, principal, agreement_id=agreement_id, action="activate", if_match=if_match
    )
    response.headers.update(etag(read.version))
    return read


@router.post(
    "/agreements/{agreement_id}/end",
    response_model=AgreementRead,
    summary="End an active agreement on a date",
    description=(
        "`ended_on`, the last day the agreement covers, must not be before signing. Active "
        "registrations running past it are terminated as of that day (`end_reason` "
        "`agreement ended`), so coverage and contributions stop with the agreement. "
        "`If-Match` optional."
    ),
    responses=problems(403, 404, 409, 412, 415),
)
async def end_agreement(
    agreement_id: uuid.UUID,
    data: AgreementEnd,
    response: Response,
    session: SessionDep,
    principal: AgreementsWrite,
    if_match: IfMatchHeader = None,
) -> AgreementRead:
    read = await service.transition(
        session,
        principal,
        agreement_id=agreement_id,
        action="end",
        ended_on=data.ended_on,
        if_match=if_match,
    )
    response.headers.update(etag(read.version))
    return read


@router.post(
    "/agreements/{agreement_id}/cancel",
    response_model=AgreementRead,
    summary="Cancel a draft agreement",
    description=(
        "Only a draft can be cancelled (an active one is ended); nothing is deleted. "
        "`If-Match` optional."
    ),
    responses=problems(403, 404, 409, 412),
)
async def cancel_agreement(
    agreement_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    principal: AgreementsWrite,
    if_match: IfMatchHeader = None,
) -> AgreementRead:
    read = await service.transition(
        session, principal, agreement_id=agreement_id, action="cancel", if_match=if_match
    )
    response.headers.update(etag(read.version))
    return read


@router.post(
    "/agreements/{agreement_id}/cohorts",
    status_code=201,
    response_model=CohortRead,
    summary="Add a cohort to a draft or active agreement",
    description=(
        "For cohorts added after signing, e.g. PTPS after their inauguration. Bumps the "
        "agreement's version. `If-Match` optional; `Idempotency-Key` to retry safely."
    ),
    responses=problems(403, 404, 409, 412, 415),
)
async def add_cohort(
    request: Request,
    agreement_id: uuid.UUID,
    data: CohortCreate,
    session: SessionDep,
    principal: AgreementsWrite,
    if_match: IfMatchHeader = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        cohort = await cohorts.add_cohort(
            session, principal, agreement_id=agreement_id, data=data, if_match=if_match
        )
        return json_response(cohort, 201)

    return await idempotent(session, principal, request, idempotency_key, create)


@router.patch(
    "/agreements/{agreement_id}/cohorts/{cohort_id}",
    response_model=AgreementRead,
    summary="Correct a cohort (headcount, period, wage) of a draft or active agreement",
    description=(
        "`If-Match` is the agreement's `ETag` (a cohort is part of its agreement). The period "
        "must still cover every registration already in the cohort "
        "(409 `cohort_period_below_registrations`)."
    ),
    responses=problems(403, 404, 409, 412, 415, 428),
)
async def update_cohort(
    agreement_id: uuid.UUID,
    cohort_id: uuid.UUID,
    data: CohortUpdate,
    response: Response,
    session: SessionDep,
    principal: AgreementsWrite,
    if_match: IfMatchHeader = None,
) -> AgreementRead:
    read = await cohorts.update_cohort(
        session,
        principal,
        agreement_id=agreement_id,
        cohort_id=cohort_id,
        if_match=if_match,
        data=data,
    )
    response.headers.update(etag(read.version))
    return read
