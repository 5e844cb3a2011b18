"""HTTP endpoints for organizations and API keys (operators only, except reading one's own)."""

import uuid

from fastapi import Query, Request
from fastapi.responses import Response

from app.core.auth import PrincipalDep
from app.core.database import SessionDep
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.models import OrganizationKind
from app.organizations import service
from app.organizations.auth import Admin
from app.organizations.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    OrganizationCreate,
    OrganizationRead,
)

router = api_router(prefix="/v1", tags=["organizations"])


@router.post(
    "/organizations",
    status_code=201,
    response_model=OrganizationRead,
    summary="Create an organization",
    description=(
        "Operators only. `kind` is one of bpjs_branch, kpu, bawaslu, government, integrator, "
        "operator; `region_code` is the province or regency it serves. Keys are issued "
        "separately. Send `Idempotency-Key` to retry safely."
    ),
    responses=problems(403, 409, 415),
)
async def create_organization(
    request: Request,
    data: OrganizationCreate,
    session: SessionDep,
    principal: Admin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        organization = await service.create_organization(session, principal, data=data)
        return json_response(OrganizationRead.model_validate(organization), 201)

    return await idempotent(session, principal, request, idempotency_key, create)


@router.get(
    "/organizations",
    response_model=Page[OrganizationRead],
    summary="List organizations (operators see all; others their own)",
    description="Filter by `kind`; cursor pages (`limit`, then `cursor`).",
    responses=problems(403),
)
async def list_organizations(
    session: SessionDep,
    principal: PrincipalDep,
    kind: OrganizationKind | None = Query(default=None),
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[OrganizationRead]:
    return await service.list_organizations(
        session, principal, kind=kind, limit=limit, cursor=cursor
    )


@router.post(
    "/organizations/{organization_id}/api-keys",
    status_code=201,
    response_model=ApiKeyIssued,
    summary="Issue an API key; the secret is in `key`, shown this once",
    description="Not idempotent on purpose: a stored replay would keep the secret in clear.",
    responses=problems(403, 404, 415),
)
async def issue_api_key(
    organization_id: uuid.UUID,
    data: ApiKeyCreate,
    session: SessionDep,
    principal: Admin,
) -> ApiKeyIssued:
    key, token = await service.issue_api_key(
        session, principal, organization_id=organization_id, data=data
    )
    return ApiKeyIssued(**ApiKeyRead.model_validate(key).model_dump(), key=token)


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyRead,
    summary="Revoke an API key",
    description=(
        "Operators only. The key stops working at once in this process and within 10 seconds "
        "in other workers (their key cache). Revoking twice answers the revoked key again."
    ),
    responses=problems(403, 404),
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> ApiKeyRead:
    key = await service.revoke_api_key(session, principal, key_id=key_id)
    return ApiKeyRead.model_validate(key)
