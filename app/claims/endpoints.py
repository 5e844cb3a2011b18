"""HTTP endpoints of the claims domain: filing, reading, documents and the review workflow."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import Response

from app.claims import filing, views, workflow
from app.claims.auth import ClaimsFile, ClaimsRead, ClaimsReview
from app.claims.repository import ClaimFilters
from app.claims.schemas import (
    ClaimCreate,
    ClaimRead,
    ClaimStatus,
    ClaimSummary,
    DocumentReceive,
    Program,
    TransitionCreate,
)
from app.core.accesslog import AccessLogDep
from app.core.database import SessionDep
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.core.versions import etag

router = api_router(prefix="/v1", tags=["claims"])


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The claim\'s ETag from your last read, e.g. `"3"`'),
]
VISIBILITY = (
    "Only the parties to the officer's agreement (its BPJS branch, counterpart and payer) and "
    "operators see a claim; to anyone else it is 404, as a missing id. Every claim shown is "
    "written to the access log with the key that read it (UU 27/2022)."
)


@router.post(
    "/claims",
    status_code=201,
    response_model=ClaimRead,
    summary="File a JKK or JKM claim",
    description=(
        "By a key with `claims:write` of the counterpart, the payer or the BPJS branch of the "
        "officer's agreement (or an operator). Name the officer by `registration_id`, or by "
        "`nik` (the registration covering `incident_date` is used).\n\n"
        "Eligibility is decided now, in one transaction: a registration covering the incident "
        "date under an agreement covering the program, else 422 `not_covered` with `reason` "
        "(`not_registered`, `not_started`, `ended`, `terminated`, `held`, "
        "`program_not_covered`). A work-related death is JKK (a JKM claim for one: 422 "
        "`use_jkk`; a JKK claim with incident_type `death`: 422 `use_jkm`). A second death claim "
        "for the officer, or a second claim for the same incident: 409 `duplicate_claim`. A "
        "report more than 2 x 24 hours after the incident is accepted with the warning "
        "`late_report`.\n\n"
        "Benefits come from the benefit schedule in force on the incident date and the "
        "cohort's declared wage, as line items with their arithmetic and legal basis; the "
        "scholarship is an entitlement (`payable_now: false`). The answer carries the document "
        "checklist and `ETag`. " + VISIBILITY
    ),
    responses=problems(403, 404, 409, 415),
)
async def file_claim(
    request: Request,
    data: ClaimCreate,
    session: SessionDep,
    principal: ClaimsFile,
    access_log: AccessLogDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        claim = await filing.file_claim(session, principal, data=data, access_log=access_log)
        return json_response(
            claim, 201, headers={**etag(claim.version), "Location": f"/v1/claims/{claim.id}"}
        )

    return await idempotent(session, principal, request, idempotency_key, create)


@router.get(
    "/claims",
    response_model=Page[ClaimSummary],
    summary="List claims, oldest filed first",
    description=(
        "Filter by `agreement`, `status`, `program` and incident date (`from`, `to`, "
        "inclusive). Keys with `claims:write` or `claims:review`. " + VISIBILITY
    ),
    responses=problems(403, 404),
)
async def list_claims(
    session: SessionDep,
    principal: ClaimsRead,
    access_log: AccessLogDep,
    agreement: uuid.UUID | None = Query(default=None, description="An agreement id"),
    status: ClaimStatus | None = Query(default=None),
    program: Program | None = Query(default=None),
    from_: date | None = Query(default=None, alias="from", description="Incident on or after"),
    to: date | None = Query(default=None, description="Incident on or before"),
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ClaimSummary]:
    filters = ClaimFilters(
        agreement_id=agreement,
        status=status,
        program=program,
        incident_from=from_,
        incident_to=to,
    )
    return await views.list_claims(
        session, principal, filters=filters, limit=limit, cursor=cursor, access_log=access_log
    )


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimRead,
    summary="A claim: amounts, checklist, warnings and history, with its ETag",
    description="Keys with `claims:write` or `claims:review`. " + VISIBILITY,
    responses=problems(403, 404),
)
async def get_claim(
    claim_id: uuid.UUID,
    session: SessionDep,
    principal: ClaimsRead,
    access_log: AccessLogDep,
) -> Response:
    claim = await views.get_claim(session, principal, claim_id=claim_id, access_log=access_log)
    return json_response(claim, headers=etag(claim.version))


@router.post(
    "/claims/{claim_id}/transitions",
    response_model=ClaimRead,
    summary="Move a claim: submitted -> verified -> approved -> paid, or -> rejected",
    description=(
        "Only `claims:review` keys of the agreement's BPJS branch, or operators (other parties: "
        "403 `not_reviewer`). Send `If-Match` with the claim's ETag (missing: 428, stale: 412; "
        "of two moves from the same version exactly one wins). A move the workflow does not "
        "allow: 409 `invalid_transition`. `rejected` (from any open state) needs the reason in "
        "`note`; `paid` needs `paid_on` and `transfer_reference`. Approval while a required "
        "document is missing: 409 `documents_missing` with `missing`. Every move is kept in "
        "the claim's `history`."
    ),
    responses=problems(403, 404, 409, 412, 415, 428),
)
async def transition_claim(
    claim_id: uuid.UUID,
    data: TransitionCreate,
    session: SessionDep,
    principal: ClaimsReview,
    access_log: AccessLogDep,
    if_match: IfMatch = None,
) -> Response:
    claim = await workflow.transition(
        session,
        principal,
        claim_id=claim_id,
        if_match=if_match,
        data=data,
        access_log=access_log,
    )
    return json_response(claim, headers=etag(claim.version))


@router.post(
    "/claims/{claim_id}/documents",
    response_model=ClaimRead,
    summary="Record a document of the claim as received",
    description=(
        "`kind` is one of the catalog (`death_certificate`, `heirship_letter`, `ktp_deceased`, "
        "`ktp_heir`, `family_card`, `bank_book`, `kk1`, `kk2`, `chronology`, `duty_letter`, "
        "`attendance_record`, `police_report`, `medical_receipts`, `transport_receipts`, "
        "`medical_certificate`; else 422 `document_kind_unknown`); `reference` is its number "
        "or file name. The key and its organization are recorded with the time. A kind outside "
        "the claim's checklist is kept as not required. Any party's key with `claims:write` or "
        "`claims:review`, while the claim is open (else 409 `claim_closed`). The claim's "
        "version goes up."
    ),
    responses=problems(403, 404, 409, 415),
)
async def receive_document(
    request: Request,
    claim_id: uuid.UUID,
    data: DocumentReceive,
    session: SessionDep,
    principal: ClaimsRead,
    access_log: AccessLogDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        claim = await workflow.receive_document(
            session, principal, claim_id=claim_id, data=data, access_log=access_log
        )
        return json_response(claim, headers=etag(claim.version))

    return await idempotent(session, principal, request, idempotency_key, create)
