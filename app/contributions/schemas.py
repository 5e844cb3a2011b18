"""Request and response bodies for contributions, payments, the agreement summary and reports."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.values import MONTH_PATTERN, BusinessDate

Month = Annotated[
    str,
    StringConstraints(pattern=MONTH_PATTERN),
    Field(description="A calendar month, `YYYY-MM`", examples=["2024-11"]),
]
Rupiah = Annotated[int, Field(description="Integer rupiah", examples=[16_800])]
ProvinceCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{2}$"),
    Field(description="A province code (two digits)", examples=["12"]),
]
MAX_PAYMENT = 10**13


class ContributionLine(BaseModel):
    cohort_id: uuid.UUID
    role: str
    month: Month
    officer_months: int = Field(
        description="Registrations covering at least one day of the month (a started month "
        "counts whole)"
    )
    jkk: Rupiah = Field(description="JKK contribution of the line")
    jkm: Rupiah = Field(description="JKM contribution of the line")
    total: Rupiah


class CohortRate(BaseModel):
    """What one officer-month of a cohort costs, per program, after rounding."""

    cohort_id: uuid.UUID
    role: str
    declared_wage: Rupiah
    jkk_per_officer_month: Rupiah
    jkm_per_officer_month: Rupiah


class ContributionTotals(BaseModel):
    officer_months: int
    jkk: Rupiah
    jkm: Rupiah
    total: Rupiah


class ContributionsRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agreement_id": "0b9e3f0e-5a49-4a55-9c55-1f4a3e0f8e11",
                    "from_month": "2024-11",
                    "to_month": "2024-12",
                    "rates": [
                        {
                            "cohort_id": "6f1c2a8e-3c1b-4a8f-9a57-0d3f5b8e2c10",
                            "role": "KPPS",
                            "declared_wage": 1_000_000,
                            "jkk_per_officer_month": 10_000,
                            "jkm_per_officer_month": 6_800,
                        }
                    ],
                    "lines": [
                        {
                            "cohort_id": "6f1c2a8e-3c1b-4a8f-9a57-0d3f5b8e2c10",
                            "role": "KPPS",
                            "month": "2024-11",
                            "officer_months": 12_465,
                            "jkk": 124_650_000,
                            "jkm": 84_762_000,
                            "total": 209_412_000,
                        }
                    ],
                    "totals": {
                        "officer_months": 24_930,
                        "jkk": 249_300_000,
                        "jkm": 169_524_000,
                        "total": 418_824_000,
                    },
                }
            ]
        }
    )

    agreement_id: uuid.UUID
    from_month: Month | None = Field(description="First month reported (null: no cohorts)")
    to_month: Month | None
    rates: list[CohortRate]
    lines: list[ContributionLine]
    totals: ContributionTotals


class BalanceMonth(BaseModel):
    month: Month
    due: Rupiah
    paid: Rupiah
    outstanding: Rupiah = Field(description="What is still owed for the month: due - paid, >= 0")
    credit: Rupiah = Field(description="What was paid beyond the month's due: paid - due, >= 0")


class BalanceTotals(BaseModel):
    due: Rupiah
    paid: Rupiah
    outstanding: Rupiah
    credit: Rupiah


class BalanceRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agreement_id": "0b9e3f0e-5a49-4a55-9c55-1f4a3e0f8e11",
                    "from_month": "2024-11",
                    "to_month": "2024-12",
                    "months": [
                        {
                            "month": "2024-11",
                            "due": 420_000,
                            "paid": 420_000,
                            "outstanding": 0,
                            "credit": 0,
                        },
                        {
                            "month": "2024-12",
                            "due": 420_000,
                            "paid": 100_000,
                            "outstanding": 320_000,
                            "credit": 0,
                        },
                    ],
                    "totals": {
                        "due": 840_000,
                        "paid": 520_000,
                        "outstanding": 320_000,
                        "credit": 0,
                    },
                }
            ]
        }
    )

    agreement_id: uuid.UUID
    from_month: Month | None
    to_month: Month | None
    months: list[BalanceMonth]
    totals: BalanceTotals


class PaymentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": 418_824_000,
                    "paid_on": "2025-01-10",
                    "reference": "SP2D/0123/BPKAD/2025",
                    "months": ["2024-11", "2024-12"],
                }
            ]
        },
    )

    amount: Annotated[
        int, Field(strict=True, gt=0, le=MAX_PAYMENT, description="Integer rupiah, > 0")
    ]
    paid_on: BusinessDate = Field(
        description="The day the money was transferred (not in the future)"
    )
    reference: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
        Field(description="The transfer's reference (SP2D, bank reference); unique per agreement"),
    ]
    months: Annotated[
        list[Month],
        Field(
            min_length=1,
            max_length=120,
            description="The months the payment is for; the amount settles the oldest first",
        ),
    ]


class AllocationRead(BaseModel):
    month: Month
    amount: Rupiah


class PaymentRead(BaseModel):
    id: uuid.UUID
    agreement_id: uuid.UUID
    amount: Rupiah
    paid_on: date
    reference: str
    months: list[Month]
    allocations: list[AllocationRead] = Field(
        description="How the amount was spread over the months when it was recorded"
    )
    recorded_by_organization_id: uuid.UUID | None
    created_at: datetime


class CohortSummary(BaseModel):
    cohort_id: uuid.UUID
    role: str
    coverage_start: date
    coverage_end: date
    planned: int
    active: int
    held: int
    terminated: int = Field(description="Terminated or replaced (pergantian antar waktu)")
    rejected: int
    percentage: float | None = Field(
        description="Active registrations as a percentage of the planned headcount, 1 decimal"
    )


class DistrictSummary(BaseModel):
    district_code: str = Field(
        description="The district (kecamatan) of the assignment region; a registration "
        "assigned to a regency or province as a whole is counted under that code"
    )
    district_name: str | None
    active: int
    held: int
    terminated: int
    rejected: int


class EnrolmentTotals(BaseModel):
    planned: int
    active: int
    held: int
    terminated: int
    rejected: int
    percentage: float | None


class MoneySummary(BaseModel):
    due: Rupiah
    paid: Rupiah
    outstanding: Rupiah
    credit: Rupiah


class ClaimTotals(BaseModel):
    """Claims of one program in one status: how many, and what they pay."""

    program: str
    status: str = Field(description="submitted, verified, approved, paid or rejected")
    count: int
    payable: Rupiah = Field(description="Benefits payable at once, as computed at filing")
    entitlement: Rupiah = Field(description="Entitlements recorded, not paid at once (scholarship)")


class SummaryRead(BaseModel):
    agreement_id: uuid.UUID
    number: str
    cohorts: list[CohortSummary]
    districts: list[DistrictSummary]
    totals: EnrolmentTotals
    contributions: MoneySummary
    claims: list[ClaimTotals]


class EnrolmentRow(BaseModel):
    region_code: str = Field(
        description="The regency or city (a province-wide agreement: the province)"
    )
    region_name: str | None
    agreements: int
    planned: int
    registered: int = Field(description="Active registrations")
    coverage_ratio: float | None = Field(description="registered / planned, 4 decimals")


class EnrolmentReportTotals(BaseModel):
    agreements: int
    planned: int
    registered: int
    coverage_ratio: float | None


class EnrolmentReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "election": "pilkada-2024",
                    "region_code": "12",
                    "region_name": "Sumatera Utara",
                    "rows": [
                        {
                            "region_code": "12.09",
                            "region_name": "Kabupaten Asahan",
                            "agreements": 2,
                            "planned": 15_753,
                            "registered": 14_120,
                            "coverage_ratio": 0.8963,
                        }
                    ],
                    "totals": {
                        "agreements": 2,
                        "planned": 15_753,
                        "registered": 14_120,
                        "coverage_ratio": 0.8963,
                    },
                }
            ]
        }
    )

    election: str | None
    region_code: str | None = Field(description="The province reported on; null: the country")
    region_name: str | None
    rows: list[EnrolmentRow]
    totals: EnrolmentReportTotals
