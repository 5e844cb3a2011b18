"""HTTP endpoints of the registrations domain: list, read, terminate, resolve, KPJ numbers."""

import uuid
from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import Response

from app.core.accesslog import AccessLogDep
from app.core.database import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.replica import ReadSessionDep
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.models import RegistrationStatus
from app.registrations import kpj, service
from app.registrations.auth import (
    KpjWrite,
    RegistrationsRead,
    RegistrationsResolve,
    RegistrationsTerminate,
)
from app.registrations.schemas import (
    PII_NOTE,
    KpjBulkRead,
    KpjBulkRequest,
    RegistrationKpjRead,
    RegistrationRead,
    RegistrationResolve,
    RegistrationTerminate,
    RegistrationUpdate,
)

router = api_router(prefix="/v1", tags=["registrations"])

RegistrationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Registration id")]
VISIBILITY = (
    "An organization sees the registrations of the agreements it is party to (BPJS branch, "
    "counterpart or payer); operators see all. Others' ids answer 404 like missing ones."
)
ACCESS_LOG_NOTE = (
    "Every registration shown with its personal data (`pii:read`) is written to the access log "
    "with the key that read it (UU 27/2022); masked answers are not."
)


@router.get(
    "/registrations",
    response_model=Page[RegistrationRead],
    summary="List registrations, ordered by id, with filters",
    description=f"{VISIBILITY}\n\n{PII_NOTE} {ACCESS_LOG_NOTE}",
    responses=problems(403),
)
async def list_registrations(
    session: ReadSessionDep,
    principal: RegistrationsRead,
    access_log: AccessLogDep,
    agreement_id: uuid.UUID | None = Query(default=None),
    cohort_id: uuid.UUID | None = Query(default=None),
    role: str | None = Query(default=None, max_length=40, examples=["KPPS"]),
    region: str | None = Query(
        default=None,
        pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$",
        description="A dotted region code: that region and every region inside it",
        examples=["12.09.18"],
    ),
    status: RegistrationStatus | None = Query(default=None),
    nik: str | None = Query(
        default=None,
        max_length=32,
        description="16 digits; anything else is 422 `invalid_nik`",
        examples=["1209185705900001"],
    ),
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[RegistrationRead]:
    return await service.list_registrations(
        session,
        principal,
        agreement_id=agreement_id,
        cohort_id=cohort_id,
        role=role,
        region=region,
        status=status,
        nik=nik,
        limit=limit,
        cursor=cursor,
        access_log=access_log,
    )


@router.get(
    "/registrations/{registration_id}",
    response_model=RegistrationRead,
    summary="Read one registration",
    description=f"{VISIBILITY}\n\n{PII_NOTE} {ACCESS_LOG_NOTE}",
    responses=problems(403, 404),
)
async def get_registration(
    registration_id: RegistrationId,
    session: SessionDep,
    principal: RegistrationsRead,
    access_log: AccessLogDep,
) -> RegistrationRead:
    return await service.get_registration(
        session, principal, registration_id=registration_id, access_log=access_log
    )


@router.post(
    "/registrations/{registration_id}/terminate",
    response_model=RegistrationRead,
    summary="End an active registration early, with the last covered day and a reason",
    description=(
        "For the agreement's counterpart (key with `rosters:write`), its BPJS branch (key with "
        "`agreements:write`) or an operator. Only an `active` registration can be terminated "
        "(409 `invalid_transition`); `ended_on` is the last covered day, from the day before "
        "`coverage_start` (never covered) to `coverage_end` (422 `termination_date_invalid`). "
        "Nothing is deleted: the registration stays, `terminated`, with its date and reason."
    ),
    responses=problems(403, 404, 409, 415),
)
async def terminate_registration(
    registration_id: RegistrationId,
    data: RegistrationTerminate,
    session: SessionDep,
    principal: RegistrationsTerminate,
) -> RegistrationRead:
    return await service.terminate_registration(
        session, principal, registration_id=registration_id, data=data
    )


@router.post(
    "/registrations/{registration_id}/resolve",
    response_model=RegistrationRead,
    summary="Resolve a held registration: reject it, or transfer coverage to it",
    description=(
        "Only for `held` registrations (409 `not_held`), by the BPJS branch of this "
        "registration's agreement (key with `agreements:write`) or an operator; other parties "
        "get 403. `reject` makes it `rejected`. `transfer` ends the registration it collided "
        "with the day before this one starts (`terminated`, reason `transferred to registration "
        "N`) and makes this one `active`, in one transaction; if the other one no longer "
        "overlaps, or another covering registration of the NIK would still overlap, the answer "
        "is 409 `transfer_conflict` and nothing changes. Both outcomes are audited."
    ),
    responses=problems(403, 404, 409, 415),
)
async def resolve_registration(
    registration_id: RegistrationId,
    data: RegistrationResolve,
    session: SessionDep,
    principal: RegistrationsResolve,
) -> RegistrationRead:
    return await service.resolve_registration(
        session, principal, registration_id=registration_id, data=data
    )


@router.patch(
    "/registrations/{registration_id}",
    response_model=RegistrationKpjRead,
    summary="Set a registration's KPJ membership number (the agreement's BPJS branch)",
    description=(
        "`kpj` is 11 digits (null clears it). A KPJ belongs to one person: the same number "
        "on a registration of another NIK is 409 `kpj_taken`."
    ),
    responses=problems(403, 404, 409, 415),
)
async def update_registration(
    registration_id: RegistrationId,
    data: RegistrationUpdate,
    session: SessionDep,
    principal: KpjWrite,
) -> RegistrationKpjRead:
    return await kpj.set_registration_kpj(
        session, principal, registration_id=registration_id, data=data
    )


@router.post(
    "/registrations/kpj",
    response_model=KpjBulkRead,
    summary="Set KPJ numbers for a list of NIKs on the caller's agreements",
    description=(
        "Up to 10,000 `{nik, kpj}` items applied in one statement to the registrations of "
        "each NIK under agreements whose BPJS branch is the caller (all, for operators). "
        "Each item answers `updated`, `not_found`, `invalid` or `taken`, in request order. "
        "Repeating the request gives the same answers and changes nothing more."
    ),
    responses=problems(403, 409, 415),
)
async def set_kpjs(
    data: KpjBulkRequest,
    session: SessionDep,
    principal: KpjWrite,
) -> Response:
    return json_response(await kpj.set_kpjs(session, principal, data=data))
