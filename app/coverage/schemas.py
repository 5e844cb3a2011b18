"""Request and response bodies of coverage checks and the access log."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

MAX_NIKS = 10_000

Reason = Literal["not_registered", "not_started", "ended", "terminated", "held"]

# Taken as any JSON value so that one malformed NIK (a number, a float from a spreadsheet)
# gets its own error in the answer instead of failing the whole list.
NikInput = Annotated[
    Any,
    WithJsonSchema({"type": "string", "pattern": r"^\d{16}$", "examples": ["1209185705900001"]}),
]


class CoverageRegistration(BaseModel):
    """One registration of the NIK. `full_name`, `birth_date` and `kpj` are present only when
    `masked` is false: the caller holds `pii:read` and its organization is party to the
    registration's agreement (or it is an operator)."""

    id: int
    role: str
    position: str | None
    election: str
    agreement_number: str
    bpjs_branch: str = Field(description="Name of the agreement's BPJS branch")
    programs: list[str]
    coverage_start: date
    coverage_end: date = Field(description="Planned end of coverage")
    ended_on: date | None = Field(description="Last covered day when ended early")
    status: Literal["active", "terminated", "replaced", "held"]
    covers: bool = Field(description="Whether this registration covers `on`")
    masked: bool
    kpj: str | None = Field(default=None, description="KPJ membership number, when known")
    full_name: str | None = None
    birth_date: date | None = None


class CoverageRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nik": "120918********01",
                    "on": "2024-11-27",
                    "covered": True,
                    "reason": None,
                    "registrations": [
                        {
                            "id": 1,
                            "role": "KPPS",
                            "position": "anggota",
                            "election": "pilkada-2024",
                            "agreement_number": "PKS/12.09/2024/017",
                            "bpjs_branch": "BPJS Ketenagakerjaan Cabang Kisaran",
                            "programs": ["JKK", "JKM"],
                            "coverage_start": "2024-11-01",
                            "coverage_end": "2024-12-31",
                            "ended_on": None,
                            "status": "active",
                            "covers": True,
                            "masked": True,
                        }
                    ],
                }
            ]
        }
    )

    nik: str = Field(description="The NIK; masked (first 6 and last 2 digits) without pii:read")
    on: date
    covered: bool
    reason: Reason | None = Field(
        description=(
            "Why not covered, null when covered. When several apply: held, then terminated, "
            "then ended, then not_started; not_registered when no registration (rejected "
            "ones do not count)"
        )
    )
    registrations: list[CoverageRegistration]


class CheckItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik: NikInput
    on: date | None = Field(default=None, description="Defaults to the request's `on`")


class CoverageCheckRequest(BaseModel):
    """Either `niks` (all checked on `on`) or `items` (each with its own date), up to 10,000."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"on": "2024-11-27", "niks": ["1209185705900001", "1209186702900002"]},
                {"items": [{"nik": "1209185705900001", "on": "2024-11-27"}]},
            ]
        },
    )

    on: date | None = Field(default=None, description="Defaults to today in Asia/Jakarta")
    niks: list[NikInput] | None = None
    items: list[CheckItem] | None = None


class ItemError(BaseModel):
    code: str
    msg: str


class CoverageCheckResult(BaseModel):
    """A coverage answer, or `error` for a malformed NIK (then `nik` echoes the input)."""

    nik: str | None
    on: date
    covered: bool | None = None
    reason: Reason | None = None
    registrations: list[CoverageRegistration] | None = None
    error: ItemError | None = None


class CoverageChecksRead(BaseModel):
    on: date
    results: list[CoverageCheckResult] = Field(description="In the order of the request")


class AccessLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    api_key_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    nik: str
    endpoint: str
    registrations: int = Field(description="How many registrations the answer showed")
