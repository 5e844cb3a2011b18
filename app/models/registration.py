"""Roster batches and the registrations they create: one officer in one cohort for a period."""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

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
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import DATERANGE, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class RegistrationStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"  # ended early, with a date and a reason
    REPLACED = "replaced"  # ended by a replacement (PAW) the day before the newcomer starts
    HELD = "held"  # overlaps another covering registration of the NIK; waits on a review
    REJECTED = "rejected"


# The statuses in which a registration covers (or covered) its period: held and rejected ones
# never covered a day. Migrations 0004 and 0006 spell the same list in their SQL.
COVERING_STATUSES = (
    RegistrationStatus.ACTIVE,
    RegistrationStatus.TERMINATED,
    RegistrationStatus.REPLACED,
)


def sql_list(statuses: Iterable[str]) -> str:
    """Statuses as a parenthesized SQL list for `status IN ...` in a text statement."""
    return "(" + ", ".join(f"'{status}'" for status in statuses) + ")"


COVERING_SQL = sql_list(COVERING_STATUSES)  # ('active', 'terminated', 'replaced')


class RosterBatch(Timestamped, Base):
    __tablename__ = "roster_batches"
    __table_args__ = (
        # One batch per organization and Idempotency-Key (the admin key has no organization).
        Index(
            "uq_roster_batches_idempotency",
            func.coalesce(
                text("organization_id"), text("'00000000-0000-0000-0000-000000000000'::uuid")
            ),
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # What the sweep of batches left unfinished by a stopped process reads.
        Index(
            "ix_roster_batches_unfinished",
            "created_at",
            postgresql_where=text("status IN ('received', 'processing')"),
        ),
        # What the purge of refused rosters' rows reads (migration 0016).
        Index(
            "ix_roster_batches_refused_unpurged",
            "finished_at",
            postgresql_where=text("error = 'roster_rejected' AND errors_purged_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    api_key_id: Mapped[uuid.UUID | None]
    format: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(Text)
    atomic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_hash: Mapped[str | None] = mapped_column(Text)
    # The status the first request answered (201, 202 or 422), replayed for its Idempotency-Key.
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    # received | processing | completed | failed
    status: Mapped[str] = mapped_column(Text, server_default="received")
    # True once the rows took effect; false for a failed or an all-or-nothing batch refused.
    applied: Mapped[bool] = mapped_column(Boolean, server_default="false")
    total_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    processed_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    delimiter: Mapped[str | None] = mapped_column(Text)
    columns: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    file_date: Mapped[date | None] = mapped_column(Date)
    error: Mapped[str | None] = mapped_column(Text)  # a stable code
    error_detail: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, float]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When a refused roster's rejected rows lost their NIKs and cells (rosters/retention.py).
    errors_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RosterBatchRow(Base):
    """A row of a batch that did not simply land: rejected or held, with its reasons, or taken
    with NIK warnings."""

    __tablename__ = "roster_batch_rows"

    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roster_batches.id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(Text)
    nik: Mapped[str | None] = mapped_column(Text)
    codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    messages: Mapped[list[str]] = mapped_column(ARRAY(Text))
    original: Mapped[list[str]] = mapped_column(ARRAY(Text))
    warnings: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")


class Registration(Timestamped, Base):
    """One officer in one cohort for a period.

    Its references (cohort with agreement and role, region, batch, the registration it replaced
    or conflicts with) are not foreign keys: migration 0008 checks them with statement-level
    triggers, and refuses deleting or re-keying the rows referred to. Not declared here either:
    the check constraints, and the exclusion constraints `ex_registrations_nik_coverage` (one
    covering registration of a NIK per day, DESIGN rule 1) and `ex_registrations_kpj_person`.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        Index("ix_registrations_nik", "nik"),
        Index("ix_registrations_agreement_id_id", "agreement_id", "id"),
        # The summary and contributions count an agreement's rows from this index alone.
        Index(
            "ix_registrations_agreement_report",
            "agreement_id",
            "cohort_id",
            "status",
            "region_code",
            "coverage_start",
            "coverage_end",
            "ended_on",
        ),
        # A NIK is in a cohort once, while active or held.
        Index(
            "uq_registrations_nik_cohort_open",
            "nik",
            "cohort_id",
            unique=True,
            postgresql_where=text("status IN ('active', 'held')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    nik: Mapped[int] = mapped_column(BigInteger)
    agreement_id: Mapped[uuid.UUID]
    cohort_id: Mapped[uuid.UUID]
    batch_id: Mapped[uuid.UUID | None]
    role_code: Mapped[str] = mapped_column(Text)
    position: Mapped[str | None] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(Text)
    tps: Mapped[str | None] = mapped_column(Text)
    coverage_start: Mapped[date] = mapped_column(Date)
    coverage_end: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default=RegistrationStatus.ACTIVE.value)
    # GREATEST: reversed bounds are refused by the checks, not by daterange (see migration 0004).
    coverage: Mapped[Any] = mapped_column(
        DATERANGE,
        Computed(
            "daterange(coverage_start, "
            "GREATEST(coverage_start, COALESCE(ended_on, coverage_end) + 1))",
            persisted=True,
        ),
    )
    end_reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(BigInteger)
    conflict_registration_id: Mapped[int | None] = mapped_column(BigInteger)
    # None is SQL NULL, not JSON null, as ck_registrations_conflict wants.
    conflict: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    kpj: Mapped[str | None] = mapped_column(Text)
    nik_warnings: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
