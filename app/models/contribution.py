"""Contribution payments of an agreement and how each is spread over the months it pays for."""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ContributionPayment(Base):
    """One transfer from the payer, as recorded by the payer or the BPJS branch. Never edited."""

    __tablename__ = "contribution_payments"
    __table_args__ = (
        UniqueConstraint("agreement_id", "reference"),
        # What an allocation's composite reference checks: the payment and its agreement.
        UniqueConstraint("id", "agreement_id", name="uq_contribution_payments_identity"),
        Index("ix_contribution_payments_agreement_id_paid_on", "agreement_id", "paid_on", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"))
    reference: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    # The months the payer said it pays for (first day of each), in calendar order.
    months: Mapped[list[date]] = mapped_column(ARRAY(Date))
    recorded_by_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id")
    )
    recorded_by_key_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ContributionAllocation(Base):
    """The part of a payment that settles one month of the agreement's contributions."""

    __tablename__ = "contribution_allocations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["payment_id", "agreement_id"],
            ["contribution_payments.id", "contribution_payments.agreement_id"],
            name="fk_contribution_allocations_payment",
        ),
        Index(
            "ix_contribution_allocations_agreement_id_month",
            "agreement_id",
            "month",
            postgresql_include=["amount"],
        ),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    # Copied from the payment (the composite key keeps them equal) so a month sums in one index.
    agreement_id: Mapped[uuid.UUID]
    amount: Mapped[int] = mapped_column(BigInteger)
