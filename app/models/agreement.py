"""Cooperation agreements (PKS), their per-program rates and their cohorts."""

import uuid
from datetime import date

from sqlalchemy import ARRAY, BigInteger, Date, ForeignKey, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Agreement(Timestamped, Base):
    __tablename__ = "agreements"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    number: Mapped[str] = mapped_column(Text, unique=True)
    bpjs_branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    counterpart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    payer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    election_code: Mapped[str] = mapped_column(ForeignKey("elections.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_place: Mapped[str | None] = mapped_column(Text)
    programs: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(Text, server_default="draft")
    ended_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class AgreementRate(Base):
    """What an agreement charges for a program: basis points of wage, or a flat amount."""

    __tablename__ = "agreement_rates"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    program: Mapped[str] = mapped_column(Text, primary_key=True)
    basis_points: Mapped[int | None] = mapped_column(Integer)
    flat_amount: Mapped[int | None] = mapped_column(BigInteger)


class Cohort(Timestamped, Base):
    __tablename__ = "cohorts"
    # What a registration's cohort reference checks (migration 0008): cohort, agreement, role.
    __table_args__ = (
        UniqueConstraint("id", "agreement_id", "role_code", name="uq_cohorts_identity"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("roles.code"))
    election_code: Mapped[str] = mapped_column(ForeignKey("elections.code"))
    planned_headcount: Mapped[int] = mapped_column(Integer)
    coverage_start: Mapped[date] = mapped_column(Date)
    coverage_end: Mapped[date] = mapped_column(Date)
    declared_wage: Mapped[int] = mapped_column(BigInteger, server_default="1000000")
