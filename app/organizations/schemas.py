"""Request and response bodies for organizations and API keys."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.auth import SCOPES, Scope
from app.models import OrganizationKind

NameStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"),
    Field(description="A dotted Kemendagri region code", examples=["12.09"]),
]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "kpu", "name": "KPU Kabupaten Asahan", "region_code": "12.09"}]
        },
    )

    kind: OrganizationKind
    name: NameStr
    region_code: RegionCode


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: OrganizationKind
    name: str
    region_code: str | None
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "roster uploader", "scopes": ["agreements:read", "rosters:write"]}
            ]
        },
    )

    name: NameStr
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))]


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyRead):
    key: str = Field(description="The secret; shown once, store it now")
