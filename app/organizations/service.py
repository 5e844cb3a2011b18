"""Creating organizations, issuing and revoking their API keys."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.auth import Principal, forget_key, issue_key
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import Page, keyset_page
from app.models import ApiKey, Organization, OrganizationKind
from app.organizations import repository
from app.organizations.schemas import ApiKeyCreate, OrganizationCreate, OrganizationRead
from app.reference import service as reference


async def create_organization(
    session: AsyncSession, principal: Principal, *, data: OrganizationCreate
) -> Organization:
    await _check_region(session, data.region_code)
    if await repository.organization_exists(session, data.kind, data.name):
        raise Conflict(
            "An organization of this kind with this name exists", code="organization_exists"
        )
    organization = Organization(kind=data.kind, name=data.name, region_code=data.region_code)
    session.add(organization)
    await session.flush()
    await session.refresh(organization)
    audit.record(
        session,
        principal,
        action="organization.create",
        entity_type="organization",
        entity_id=organization.id,
        detail={"kind": data.kind, "name": data.name},
    )
    return organization


async def _check_region(session: AsyncSession, code: str) -> None:
    if await reference.find_region(session, code) is None:
        raise Unprocessable(f"No region has the code {code}", code="region_not_found")


async def list_organizations(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: OrganizationKind | None,
    limit: int,
    cursor: str | None,
) -> Page[OrganizationRead]:
    """Operators see every organization; any other key its own."""
    rows, next_cursor = await keyset_page(
        session,
        repository.organizations_query(principal, kind),
        keys=[Organization.id],
        limit=limit,
        cursor=cursor,
    )
    return Page(
        items=[OrganizationRead.model_validate(row[0]) for row in rows], next_cursor=next_cursor
    )


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    organization = await repository.get_organization(session, organization_id)
    if organization is None:
        raise NotFound("No such organization", code="organization_not_found")
    return organization


async def issue_api_key(
    session: AsyncSession, principal: Principal, *, organization_id: uuid.UUID, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    organization = await get_organization(session, organization_id)
    if "admin" in data.scopes and organization.kind != OrganizationKind.OPERATOR:
        raise Unprocessable(
            "Only operator organizations may hold the admin scope", code="scope_not_allowed"
        )
    issued = issue_key()
    key = ApiKey(
        organization_id=organization.id,
        name=data.name,
        prefix=issued.prefix,
        secret_hash=issued.secret_hash,
        scopes=sorted(set(data.scopes)),
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    audit.record(
        session,
        principal,
        action="api_key.issue",
        entity_type="api_key",
        entity_id=key.id,
        detail={"organization_id": str(organization.id), "scopes": key.scopes},
    )
    return key, issued.token


async def revoke_api_key(
    session: AsyncSession, principal: Principal, *, key_id: uuid.UUID
) -> ApiKey:
    key = await repository.revoke_api_key(session, key_id)
    if key is None:
        existing = await repository.get_api_key(session, key_id)
        if existing is None:
            raise NotFound("No such API key", code="api_key_not_found")
        key = existing
    else:
        audit.record(
            session, principal, action="api_key.revoke", entity_type="api_key", entity_id=key_id
        )
    forget_key(key_id)
    return key
