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
    prefix: str = Field(
        description="The key's public part, `prs_<prefix>.`", examples=["a1b2c3d4e5"]
    )
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3c9e1f4a-8b2d-4e6f-9a1c-5d7e8f0a2b4c",
                    "organization_id": "6a1c2f8e-2b0e-4a37-8a4e-5c8d3e9f7b22",
                    "name": "roster uploader",
                    "prefix": "a1b2c3d4e5",
                    "scopes": ["agreements:read", "rosters:write"],
                    "created_at": "2024-11-02T03:10:00Z",
                    "revoked_at": None,
                    "key": "prs_a1b2c3d4e5.Zq8y0Rk3Xw5vN2mB7tLp9sHc4dFg6jKe1uYa0oIi3Wx",
                }
            ]
        }
    )

    key: str = Field(description="The secret; shown once, store it now")
