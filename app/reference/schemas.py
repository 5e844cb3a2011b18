"""Request and response bodies for regions, roles, elections and benefit schedules."""

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.pagination import Page
from app.core.values import BusinessDate, StrictInt

RegionLevel = Literal["province", "regency", "district", "village"]
Program = Literal["JKK", "JKM"]

ElectionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$"),
    Field(description="Lowercase letters, digits and dashes", examples=["pemilu-2029"]),
]
RoleCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(description="A role code from `GET /v1/roles`", examples=["KPPS"]),
]
NameStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Age = Annotated[StrictInt, Field(ge=17, le=100, description="Age in whole years on voting day")]


class RegionRef(BaseModel):
    """One step of a region's path."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="Dotted Kemendagri code", examples=["16.12"])
    name: str = Field(examples=["Kabupaten Penukal Abab Lematang Ilir"])
    level: RegionLevel


class RegionRead(RegionRef):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "16.12.01",
                    "name": "Talang Ubi",
                    "level": "district",
                    "parent_code": "16.12",
                }
            ]
        },
    )

    parent_code: str | None = Field(description="The enclosing region; null for a province")


class RegionDetail(RegionRead):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "16.12.01.2001",
                    "name": "Talang Bulang",
                    "level": "village",
                    "parent_code": "16.12.01",
                    "path": [
                        {"code": "16", "name": "Sumatera Selatan", "level": "province"},
                        {
                            "code": "16.12",
                            "name": "Kabupaten Penukal Abab Lematang Ilir",
                            "level": "regency",
                        },
                        {"code": "16.12.01", "name": "Talang Ubi", "level": "district"},
                        {"code": "16.12.01.2001", "name": "Talang Bulang", "level": "village"},
                    ],
                }
            ]
        },
    )

    path: list[RegionRef] = Field(
        description="From the province down to this region itself (a breadcrumb): "
        "one entry for a province, four for a village"
    )


class ElectionAgeLimit(BaseModel):
    """An election's own age limits for a role, replacing the role's defaults."""

    election: str = Field(examples=["pemilu-2024"])
    min_age: int = Field(examples=[17])
    max_age: int | None = Field(examples=[55])


class RoleRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "KPPS",
                    "body": "kpu",
                    "level": "tps",
                    "name": "Kelompok Penyelenggara Pemungutan Suara",
                    "min_age": 17,
                    "max_age": None,
                    "age_limits": [{"election": "pemilu-2024", "min_age": 17, "max_age": 55}],
                }
            ]
        },
    )

    code: str
    body: Literal["kpu", "bawaslu", "any"] = Field(description="The election body it serves")
    level: Literal["kecamatan", "desa", "tps", "any"] = Field(description="Where it serves")
    name: str = Field(description="Indonesian name")
    min_age: int = Field(description="Default minimum age on voting day")
    max_age: int | None = Field(description="Default maximum age on voting day; null: none")
    age_limits: list[ElectionAgeLimit] = Field(
        default_factory=list,
        description="Per-election limits; where one exists it replaces both defaults",
    )


class RoleAgeLimit(BaseModel):
    """Age limits of a role for one election."""

    model_config = ConfigDict(extra="forbid")

    role: RoleCode
    min_age: Age
    max_age: Age | None = None

    @model_validator(mode="after")
    def max_not_below_min(self) -> Self:
        if self.max_age is not None and self.max_age < self.min_age:
            raise ValueError("max_age must not be below min_age")
        return self


class ElectionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "pilkada-2024-psu",
                    "name": "Pemungutan Suara Ulang Pilkada 2024",
                    "voting_day": "2025-04-19",
                    "age_limits": [{"role": "KPPS", "min_age": 17, "max_age": 55}],
                }
            ]
        },
    )

    code: ElectionCode
    name: NameStr
    voting_day: BusinessDate
    age_limits: list[RoleAgeLimit] = Field(
        default_factory=list,
        max_length=50,
        description="Limits for this election that differ from the roles' defaults",
    )

    @model_validator(mode="after")
    def one_limit_per_role(self) -> Self:
        roles = [limit.role for limit in self.age_limits]
        if len(roles) != len(set(roles)):
            raise ValueError("age_limits names a role more than once")
        return self


class ElectionRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "pemilu-2024",
                    "name": "Pemilihan Umum 2024",
                    "voting_day": "2024-02-14",
                    "age_limits": [{"role": "KPPS", "min_age": 17, "max_age": 55}],
                }
            ]
        },
    )

    code: str
    name: str
    voting_day: date
    age_limits: list[RoleAgeLimit] = Field(
        default_factory=list, description="Roles whose age limits differ for this election"
    )


class BenefitScheduleRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 11,
                    "program": "JKK",
                    "code": "JKK_DEATH",
                    "name": "Santunan kematian akibat kecelakaan kerja (48 x upah)",
                    "calculation": "wage_multiple",
                    "applies_to": "death",
                    "amount": None,
                    "multiplier": 48.0,
                    "minimum": 20000000,
                    "maximum": None,
                    "legal_basis": "PP 82/2019 (perubahan PP 44/2015), Lampiran",
                    "effective_from": "2019-12-02",
                    "effective_to": None,
                }
            ]
        },
    )

    id: int
    program: Program
    code: str = Field(description="Stable benefit code, one row in force per code and day")
    name: str
    calculation: Literal[
        "fixed", "wage_multiple", "wage_percent_monthly", "as_claimed", "entitlement"
    ] = Field(
        description="fixed: `amount`; wage_multiple: `multiplier` x monthly wage (at least "
        "`minimum`); wage_percent_monthly: `multiplier` x wage per month; as_claimed: actual "
        "costs (up to `maximum` when set); entitlement: a benefit in kind up to `maximum`"
    )
    applies_to: str = Field(description="The outcome it pays for, or `any`", examples=["death"])
    amount: int | None = Field(description="Rupiah, for fixed lines")
    multiplier: float | None
    minimum: int | None = Field(description="Rupiah floor")
    maximum: int | None = Field(description="Rupiah ceiling")
    legal_basis: str
    effective_from: date
    effective_to: date | None = Field(description="Last day in force; null: still in force")


class BenefitSchedulesInForce(Page[BenefitScheduleRead]):
    """The lines in force on `on`; never more than one page (one row per benefit code)."""

    on: date = Field(description="The day asked about (default: today in Asia/Jakarta)")
