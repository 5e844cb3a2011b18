"""JKK and JKM claims, the benefit lines computed at filing, document checklists and events."""

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Claim(Timestamped, Base):
    __tablename__ = "claims"
    __table_args__ = (
        # A death is claimed once, and an incident once (DESIGN rule 6); rejected ones aside.
        Index(
            "uq_claims_death",
            "nik",
            unique=True,
            postgresql_where=text("is_death AND status <> 'rejected'"),
        ),
        Index(
            "uq_claims_incident",
            "nik",
            "incident_date",
            "program",
            "incident_type",
            unique=True,
            postgresql_where=text("status <> 'rejected'"),
        ),
        Index("ix_claims_agreement_id_created_at_id", "agreement_id", "created_at", "id"),
        Index("ix_claims_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"))
    registration_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("registrations.id"), index=True
    )
    nik: Mapped[int] = mapped_column(BigInteger)  # the officer's, copied for the death index
    program: Mapped[str] = mapped_column(Text)  # JKK, JKM
    # work_accident | commuting_accident | occupational_disease | death (not work-related)
    incident_type: Mapped[str] = mapped_column(Text)
    incident_date: Mapped[date] = mapped_column(Date)
    incident_at: Mapped[time | None] = mapped_column(Time)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    place: Mapped[str] = mapped_column(Text)
    chronology: Mapped[str] = mapped_column(Text)
    on_duty: Mapped[bool] = mapped_column(Boolean)
    # treatment | temporary_incapacity | partial_disability | total_permanent_disability | death
    outcome: Mapped[str] = mapped_column(Text)
    incapacity_months: Mapped[int | None] = mapped_column(Integer)
    disability_percent: Mapped[int | None] = mapped_column(Integer)
    children_count: Mapped[int] = mapped_column(Integer, server_default="0")
    claimant_name: Mapped[str] = mapped_column(Text)
    claimant_nik: Mapped[int] = mapped_column(BigInteger)
    claimant_relation: Mapped[str] = mapped_column(Text)
    claimant_phone: Mapped[str | None] = mapped_column(Text)
    claimant_bank_name: Mapped[str] = mapped_column(Text)
    claimant_bank_account: Mapped[str] = mapped_column(Text)
    medical_claimed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    transport_claimed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    declared_wage: Mapped[int] = mapped_column(BigInteger)  # the cohort's, at filing
    payable_total: Mapped[int] = mapped_column(BigInteger)
    entitlement_total: Mapped[int] = mapped_column(BigInteger)
    warnings: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # submitted | verified | approved | paid | rejected
    status: Mapped[str] = mapped_column(Text, server_default="submitted")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    paid_on: Mapped[date | None] = mapped_column(Date)
    transfer_reference: Mapped[str | None] = mapped_column(Text)
    filed_by_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    filed_by_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id")
    )
    is_death: Mapped[bool] = mapped_column(Boolean, Computed("outcome = 'death'", persisted=True))


class ClaimBenefit(Base):
    """One benefit line as computed at filing, with the schedule row it came from."""

    __tablename__ = "claim_benefits"

    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("benefit_schedules.id"), index=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    calculation: Mapped[str] = mapped_column(Text)
    arithmetic: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    payable_now: Mapped[bool] = mapped_column(Boolean)
    legal_basis: Mapped[str] = mapped_column(Text)


class ClaimDocument(Base):
    """A document of a claim's checklist (or an extra one), and whether it has been received."""

    __tablename__ = "claim_documents"

    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    required: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reference: Mapped[str | None] = mapped_column(Text)
    received_by_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    received_by_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id")
    )


class ClaimEvent(Base):
    """A status change of a claim (creation is None -> submitted), with who and why."""

    __tablename__ = "claim_events"
    __table_args__ = (Index("ix_claim_events_claim_id_id", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"))
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    actor_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    note: Mapped[str | None] = mapped_column(Text)
