"""Request and response bodies for agreements (PKS), their rates and their cohorts."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.values import BusinessDate, StrictInt

Program = Literal["JKK", "JKM"]
PROGRAMS: tuple[Program, ...] = ("JKK", "JKM")

# PostgreSQL text holds no NUL, and a number or a place has no business with control characters.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
AgreementNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
    Field(description="The PKS number as signed; unique", examples=["B/1234/KPU-ASH/XI/2024"]),
]
PlaceStr = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
ElectionCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[a-z0-9-]+$"),
    Field(description="An election code from `GET /v1/elections`", examples=["pilkada-2024"]),
]
RoleCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=50,
        pattern=r"^[A-Za-z0-9_]+$",
    ),
    Field(description="A role code from `GET /v1/roles`", examples=["KPPS"]),
]
AgreementRegionCode = Annotated[
    str,
    # Any dotted code parses; the service answers a district or village with region_level_invalid.
    StringConstraints(pattern=r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"),
    Field(description="The province (`17`) or regency/city (`12.09`) covered", examples=["12.09"]),
]
RegionFilter = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2})?)?$")]
Headcount = Annotated[StrictInt, Field(ge=0, le=10_000_000, description="Officers planned")]
Rupiah = Annotated[StrictInt, Field(gt=0, le=1_000_000_000_000, description="Integer rupiah")]


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Rate(BaseModel):
    """A program's rate: `basis_points` of the declared monthly wage, or a `flat_amount`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"basis_points": 100}, {"flat_amount": 6800}]},
    )

    basis_points: Annotated[StrictInt, Field(ge=0, le=10_000, description="100 = 1%")] | None = None
    flat_amount: (
        Annotated[StrictInt, Field(ge=0, le=1_000_000_000, description="Rupiah")] | None
    ) = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Rate":
        if (self.basis_points is None) == (self.flat_amount is None):
            raise ValueError("give exactly one of basis_points and flat_amount")
        return self


DEFAULT_RATES: dict[Program, Rate] = {
    "JKK": Rate(basis_points=100),
    "JKM": Rate(flat_amount=6_800),
}

RatesIn = Annotated[
    dict[Program, Rate],
    Field(
        description=(
            "Per program: `{basis_points}` (of the declared monthly wage, 100 = 1%) or "
            "`{flat_amount}` (rupiah per officer per month). A program left out takes the "
            "default: JKK 100 basis points, JKM flat Rp6,800."
        ),
        examples=[{"JKK": {"basis_points": 100}, "JKM": {"flat_amount": 6800}}],
    ),
]
ProgramsIn = Annotated[
    list[Program],
    Field(min_length=1, max_length=2, description="Programs covered", examples=[["JKK", "JKM"]]),
]


def _unique_programs(programs: list[Program] | None) -> None:
    if programs is not None and len(set(programs)) != len(programs):
        raise ValueError("programs must not repeat")


class CohortCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "role": "KPPS",
                    "planned_headcount": 12465,
                    "coverage_start": "2024-11-01",
                    "coverage_end": "2024-12-31",
                    "declared_wage": 1000000,
                }
            ]
        },
    )

    role: RoleCode
    planned_headcount: Headcount
    coverage_start: BusinessDate
    coverage_end: BusinessDate
    declared_wage: Rupiah = 1_000_000
    election: ElectionCode | None = Field(
        default=None, description="The election the cohort serves; default: the agreement's"
    )


class CohortUpdate(BaseModel):
    """Corrections to a cohort; its period may not leave out registrations already in it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"planned_headcount": 1400, "coverage_end": "2025-01-31"}]},
    )

    planned_headcount: Headcount | None = None
    coverage_start: BusinessDate | None = None
    coverage_end: BusinessDate | None = None
    declared_wage: Rupiah | None = None


class CohortRead(BaseModel):
    id: uuid.UUID
    role: str
    election: str
    planned_headcount: int
    coverage_start: date
    coverage_end: date
    declared_wage: int
    created_at: datetime
    updated_at: datetime


ASAHAN_EXAMPLE: dict[str, Any] = {
    "number": "B/1234/KPU-ASH/XI/2024",
    "bpjs_branch_id": "0b7e4c9e-1d0e-4f5a-9a57-3f1f5d0b2a11",
    "counterpart_id": "6a1c2f8e-2b0e-4a37-8a4e-5c8d3e9f7b22",
    "election": "pilkada-2024",
    "region_code": "12.09",
    "signed_on": "2024-11-11",
    "signed_place": "Aula Kejaksaan Negeri Asahan",
    "programs": ["JKK", "JKM"],
    "rates": {"JKK": {"basis_points": 100}, "JKM": {"flat_amount": 6800}},
    "cohorts": [
        {
            "role": "PPK",
            "planned_headcount": 125,
            "coverage_start": "2023-11-01",
            "coverage_end": "2024-02-29",
            "election": "pemilu-2024",
        },
        {
            "role": "KPPS",
            "planned_headcount": 12465,
            "coverage_start": "2024-11-01",
            "coverage_end": "2024-12-31",
        },
    ],
}


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ASAHAN_EXAMPLE]})

    number: AgreementNumber
    bpjs_branch_id: uuid.UUID = Field(description="The BPJS Ketenagakerjaan branch organization")
    counterpart_id: uuid.UUID = Field(description="The KPU or Bawaslu organization")
    payer_id: uuid.UUID | None = Field(
        default=None, description="Who pays (KPU, Bawaslu or a government); default: counterpart"
    )
    election: ElectionCode
    region_code: AgreementRegionCode
    signed_on: BusinessDate | None = None
    signed_place: PlaceStr | None = None
    programs: ProgramsIn = Field(default_factory=lambda: list(PROGRAMS))
    rates: RatesIn = Field(default_factory=dict)
    cohorts: Annotated[list[CohortCreate], Field(max_length=200)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _programs(self) -> "AgreementCreate":
        _unique_programs(self.programs)
        return self


class AgreementUpdate(BaseModel):
    """Changes to a draft agreement; parties other than the payer and the election are fixed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"signed_on": "2024-11-11", "signed_place": "Aula Kejaksaan Negeri Asahan"},
                {"programs": ["JKK", "JKM"], "rates": {"JKK": {"basis_points": 89}}},
            ]
        },
    )

    number: AgreementNumber | None = None
    payer_id: uuid.UUID | None = None
    region_code: AgreementRegionCode | None = None
    signed_on: BusinessDate | None = None
    signed_place: PlaceStr | None = None
    programs: ProgramsIn | None = None
    rates: RatesIn | None = None

    @model_validator(mode="after")
    def _programs(self) -> "AgreementUpdate":
        _unique_programs(self.programs)
        for name in ("number", "payer_id", "region_code", "programs", "rates"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class AgreementEnd(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"ended_on": "2025-01-31"}]}
    )

    ended_on: BusinessDate = Field(description="The last day the agreement covers")


class AgreementRead(BaseModel):
    id: uuid.UUID
    number: str
    bpjs_branch_id: uuid.UUID
    counterpart_id: uuid.UUID
    payer_id: uuid.UUID
    election: str
    region_code: str
    signed_on: date | None
    signed_place: str | None
    programs: list[str]
    rates: dict[str, Rate]
    status: AgreementStatus
    ended_on: date | None
    version: int
    cohorts: list[CohortRead]
    created_at: datetime
    updated_at: datetime
