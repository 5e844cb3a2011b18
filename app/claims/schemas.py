"""Request and response bodies for claims, their documents and their transitions."""

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from app.core.values import BusinessDate, StrictBool, StrictInt

Program = Literal["JKK", "JKM"]
# A wall-clock time in WIB: `format: time` would demand an offset (RFC 3339), which it refuses.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$",
            "examples": ["21:30:00"],
        }
    ),
]
IncidentType = Literal["work_accident", "commuting_accident", "occupational_disease", "death"]
Outcome = Literal[
    "treatment",
    "temporary_incapacity",
    "partial_disability",
    "total_permanent_disability",
    "death",
]
Relation = Literal["self", "spouse", "child", "parent", "sibling"]
ClaimStatus = Literal["submitted", "verified", "approved", "paid", "rejected"]
TransitionTarget = Literal["verified", "approved", "paid", "rejected"]

# PostgreSQL text holds no NUL, and a name or a reference has no use for control characters;
# free text (chronology, notes) keeps its line breaks and tabs.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
FREE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text200 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
Place = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=PRINTABLE)
]
Chronology = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000, pattern=FREE_TEXT),
]
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=FREE_TEXT),
]
NikStr = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=16, max_length=16),
    Field(description="16 digits, as a string", examples=["1209185705900001"]),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{5,19}$"),
    Field(examples=["081234567890"]),
]
BankAccount = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9][0-9 -]{3,39}$"),
    Field(examples=["0123456789"]),
]
RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"),
    Field(description="Where it happened: a dotted region code", examples=["12.09.18.2002"]),
]
Cost = Annotated[StrictInt, Field(ge=0, le=100_000_000_000, description="Integer rupiah")]
RegistrationIdIn = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]

PII_NOTE = (
    "Personal data: the officer's and the claimant's NIK are shown in full, and the claimant's "
    "name, phone and bank account filled, only for keys holding `pii:read`; other keys get the "
    "NIKs masked (first 6 and last 2 digits) and null in those fields."
)


class Claimant(BaseModel):
    """Who receives the benefit: the officer (`self`) or, for a death, an heir."""

    model_config = ConfigDict(extra="forbid")

    name: Text200
    nik: NikStr
    relation: Relation
    phone: Phone | None = None
    bank_name: Text200
    bank_account: BankAccount


class AmountsClaimed(BaseModel):
    """Costs paid and claimed back (JKK only): medical care and transport, integer rupiah."""

    model_config = ConfigDict(extra="forbid")

    medical: Cost = 0
    transport: Cost = 0


CLAIM_EXAMPLE: dict[str, Any] = {
    "registration_id": 4211,
    "program": "JKK",
    "incident_type": "work_accident",
    "incident_date": "2024-11-27",
    "incident_at": "21:30:00",
    "reported_at": "2024-11-28T09:00:00+07:00",
    "place_region_code": "12.09.18.2002",
    "place": "TPS 019 Desa Sei Kamah",
    "chronology": "Terjatuh dari tangga saat memindahkan kotak suara setelah penghitungan.",
    "on_duty": True,
    "outcome": "partial_disability",
    "disability_percent": 35,
    "claimant": {
        "name": "Ani Setiawan",
        "nik": "1209185705900001",
        "relation": "self",
        "phone": "081234567890",
        "bank_name": "BRI",
        "bank_account": "0123456789",
    },
    "amounts_claimed": {"medical": 12500000, "transport": 750000},
}


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CLAIM_EXAMPLE]})

    registration_id: RegistrationIdIn | None = Field(
        default=None, description="The officer's registration; or give `nik` instead"
    )
    nik: NikStr | None = Field(
        default=None,
        description="The officer's NIK: the registration covering `incident_date` is used",
    )
    program: Program
    incident_type: IncidentType = Field(
        description="`death` is a death not caused by work (JKM); a death from a work or "
        "commuting accident or an occupational disease is a JKK claim with outcome `death`"
    )
    incident_date: BusinessDate
    incident_at: LocalTime | None = Field(
        default=None,
        description="Local time of the incident in Asia/Jakarta (WIB), no offset, when known",
    )
    reported_at: datetime = Field(
        description="When the incident was reported (KK1); without an offset, Asia/Jakarta"
    )
    place_region_code: RegionCode
    place: Place
    chronology: Chronology
    on_duty: StrictBool
    outcome: Outcome | None = Field(
        default=None, description="Required for JKK; for JKM it is `death` (may be left out)"
    )
    incapacity_months: Annotated[StrictInt, Field(ge=1, le=120)] | None = Field(
        default=None, description="Months unable to work; with outcome `temporary_incapacity`"
    )
    disability_percent: Annotated[StrictInt, Field(ge=1, le=100)] | None = Field(
        default=None, description="With outcome `partial_disability`"
    )
    children_count: Annotated[StrictInt, Field(ge=0, le=2)] = Field(
        default=0, description="Children entitled to the scholarship (JKK death), at most 2"
    )
    claimant: Claimant
    amounts_claimed: AmountsClaimed = Field(default_factory=AmountsClaimed)


class DocumentReceive(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "kk1", "reference": "KK1-2024-11-0042.pdf"}]},
    )

    kind: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_]+$"
        ),
    ]
    reference: Text200 = Field(description="A reference number or file name")


class TransitionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to": "verified", "note": "Dokumen lengkap"},
                {"to": "paid", "paid_on": "2024-12-20", "transfer_reference": "TRF-884211"},
                {"to": "rejected", "note": "Kejadian di luar jam tugas"},
            ]
        },
    )

    to: TransitionTarget
    note: Note | None = Field(default=None, description="Required for `rejected`: the reason")
    paid_on: BusinessDate | None = Field(default=None, description="Required for `paid`")
    transfer_reference: Text200 | None = Field(default=None, description="Required for `paid`")


class ClaimantRead(BaseModel):
    name: str | None
    nik: str
    relation: Relation
    phone: str | None
    bank_name: str
    bank_account: str | None


class BenefitLineRead(BaseModel):
    code: str = Field(examples=["JKK_DEATH"])
    name: str
    calculation: str = Field(examples=["wage_multiple"])
    arithmetic: str = Field(examples=["48 x 2,200,000 = 105,600,000; minimum 20,000,000"])
    amount: int
    payable_now: bool = Field(description="False for entitlements (the scholarship)")
    legal_basis: str


class TotalsRead(BaseModel):
    payable_now: int
    entitlement: int
    total: int
    arithmetic: str = Field(examples=["20,000,000 + 12,000,000 + 10,000,000 = 42,000,000"])


class DocumentRead(BaseModel):
    kind: str
    name: str
    required: bool
    received: bool
    received_at: datetime | None
    reference: str | None
    received_by_organization_id: uuid.UUID | None


class WarningRead(BaseModel):
    code: str = Field(examples=["late_report"])
    detail: str


class EventRead(BaseModel):
    from_status: ClaimStatus | None
    to_status: ClaimStatus
    at: datetime
    actor_key_id: uuid.UUID | None
    actor_organization_id: uuid.UUID | None
    note: str | None


class ClaimRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": PII_NOTE})

    id: uuid.UUID
    agreement_id: uuid.UUID
    registration_id: int
    nik: str
    program: Program
    incident_type: IncidentType
    incident_date: date
    incident_at: LocalTime | None
    reported_at: datetime
    place_region_code: str
    place: str
    chronology: str
    on_duty: bool
    outcome: Outcome
    incapacity_months: int | None
    disability_percent: int | None
    children_count: int
    claimant: ClaimantRead
    amounts_claimed: AmountsClaimed
    declared_wage: int
    benefits: list[BenefitLineRead]
    totals: TotalsRead
    documents: list[DocumentRead]
    documents_missing: list[str]
    warnings: list[WarningRead]
    status: ClaimStatus
    version: int
    paid_on: date | None
    transfer_reference: str | None
    history: list[EventRead]
    created_at: datetime
    updated_at: datetime


class ClaimSummary(BaseModel):
    """A claim in a list: what it is, where it stands, what it is worth."""

    model_config = ConfigDict(json_schema_extra={"description": PII_NOTE})

    id: uuid.UUID
    agreement_id: uuid.UUID
    registration_id: int
    nik: str
    program: Program
    incident_type: IncidentType
    incident_date: date
    outcome: Outcome
    status: ClaimStatus
    payable_total: int
    entitlement_total: int
    warnings: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
