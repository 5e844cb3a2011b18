"""Request and response bodies for registrations: reading, terminating, resolving, KPJ numbers."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from app.core.values import BusinessDate

# The KPJ bulk answers share the coverage checks' NIK input and per-item error.
from app.coverage.schemas import ItemError, NikInput
from app.models import RegistrationStatus

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]

PII_NOTE = (
    "Personal data: `nik` is shown in full and `full_name`, `birth_date`, `phone` and `kpj` are "
    "filled only for keys holding `pii:read`; other keys get the NIK masked (first 6 and last 2 "
    "digits, e.g. `120918********01`) and null in those fields."
)


class ConflictRead(BaseModel):
    """The registration a held one collides with, described without the other person's data."""

    body: str = Field(description="`kpu` or `bawaslu`", examples=["bawaslu"])
    role: str = Field(examples=["PTPS"])
    coverage_start: date
    coverage_end: date = Field(description="Its last covered day when the roster row came in")


class RegistrationRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "description": PII_NOTE,
            "examples": [
                {
                    "id": 4211,
                    "nik": "120918********01",
                    "full_name": None,
                    "birth_date": None,
                    "sex": "L",
                    "phone": None,
                    "agreement_id": "5b0f4a52-3f1c-4d1e-9a57-1f3c2b8e7d10",
                    "agreement_number": "PKS/KISARAN/2024/11",
                    "cohort_id": "0d6a1b7e-2c54-4a8f-b1de-7e2f9b3c4a55",
                    "role": "KPPS",
                    "position": "anggota",
                    "region_code": "12.09.18.2002",
                    "tps": "019",
                    "coverage_start": "2024-11-01",
                    "coverage_end": "2024-12-31",
                    "ended_on": None,
                    "status": "active",
                    "end_reason": None,
                    "replaces_id": None,
                    "conflict": None,
                    "kpj": None,
                    "nik_warnings": [],
                    "batch_id": None,
                    "created_at": "2024-11-02T03:10:00Z",
                    "updated_at": "2024-11-02T03:10:00Z",
                }
            ],
        }
    )

    id: int
    nik: str = Field(description="16 digits with `pii:read`, else masked: `120918********01`")
    full_name: str | None = Field(description="Null without `pii:read`")
    birth_date: date | None = Field(description="Null without `pii:read`")
    sex: Literal["L", "P"] | None
    phone: str | None = Field(description="Null without `pii:read`")
    agreement_id: uuid.UUID
    agreement_number: str
    cohort_id: uuid.UUID
    role: str
    position: str | None
    region_code: str = Field(description="Where the officer serves (dotted Kemendagri code)")
    tps: str | None
    coverage_start: date
    coverage_end: date
    ended_on: date | None = Field(description="Last covered day of a terminated or replaced one")
    status: RegistrationStatus
    end_reason: str | None
    replaces_id: int | None = Field(description="The registration this one replaced (PAW)")
    conflict: ConflictRead | None = Field(
        description="For held ones (kept after resolution): the other body's registration"
    )
    kpj: str | None = Field(description="BPJS membership number; null without `pii:read`")
    nik_warnings: list[str] = Field(description="NIK warnings kept from the roster row")
    batch_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class RegistrationTerminate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"ended_on": "2024-11-20", "reason": "mengundurkan diri (resigned)"}]
        },
    )

    ended_on: BusinessDate = Field(
        description="The last covered day, from the day before coverage_start to coverage_end"
    )
    reason: Reason


class RegistrationResolve(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "transfer", "note": "Moved from PTPS to KPPS, letter 12/KPU/XI/2024"},
                {"action": "reject", "note": "Still serving as PTPS"},
            ]
        },
    )

    action: Literal["reject", "transfer"] = Field(
        description="`reject` the held registration, or `transfer`: end the other one the day "
        "before this one starts and activate this one"
    )
    note: Note | None = Field(default=None, description="Why; kept in the audit log")


MAX_KPJ_ITEMS = 10_000
KpjInput = Annotated[
    Any,
    WithJsonSchema(
        {"type": ["string", "null"], "pattern": r"^\d{11}$", "examples": ["24012345678"]}
    ),
]


class RegistrationUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kpj": "24012345678"}]}
    )

    kpj: KpjInput = Field(description="The KPJ membership number (11 digits); null clears it")


class RegistrationKpjRead(BaseModel):
    id: int
    agreement_id: uuid.UUID
    kpj: str | None
    updated_at: datetime


class KpjItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik: NikInput
    kpj: KpjInput


class KpjBulkRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"nik": "1209185705900001", "kpj": "24012345678"}]}]
        },
    )

    items: list[KpjItem]


class KpjBulkResult(BaseModel):
    status: Literal["updated", "not_found", "invalid", "taken"]
    registrations: int = Field(
        default=0, description="Registrations of the NIK under the caller's agreements set"
    )
    error: ItemError | None = None


class KpjBulkRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {"status": "updated", "registrations": 1, "error": None},
                        {
                            "status": "invalid",
                            "registrations": 0,
                            "error": {"code": "invalid_kpj", "msg": "A KPJ number is 11 digits"},
                        },
                    ],
                    "counts": {"updated": 1, "not_found": 0, "invalid": 1, "taken": 0},
                }
            ]
        }
    )

    results: list[KpjBulkResult] = Field(description="In the order of the request")
    counts: dict[str, int]
