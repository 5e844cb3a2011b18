"""Roster batches, their problem rows, and registrations with the no-double-protection rule.

A batch row is committed before a large roster is processed, so a process that dies mid-way
leaves a batch that says so (`processing`, then `failed` on the next start), never rows without
a batch: registrations and problem rows land in the one transaction that completes the batch.
An Idempotency-Key is kept on the batch itself (unique per organization) with the hash of the
request, since a roster body is hashed while it streams to disk and is never held in memory.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from migrations.helpers import timestamps

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING_STATUSES = "('active', 'terminated', 'replaced')"
# Coverage stops with its agreement, whoever ends it: active registrations running past the end
# are terminated as of that day (one not started by then, the day before its start).
END_WITH_AGREEMENT = """
CREATE FUNCTION agreements_end_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registrations r
    SET status = 'terminated', ended_on = GREATEST(r.coverage_start - 1, NEW.ended_on),
        end_reason = 'agreement ended', updated_at = now()
    WHERE r.agreement_id = NEW.id AND r.status = 'active'
      AND COALESCE(r.ended_on, r.coverage_end) > NEW.ended_on;
    RETURN NULL;
END $$
"""
# What a held registration's conflict says of the other one: its body, role and period, all
# given, and nothing else (never the other person's data).
CONFLICT_KEYS = "ARRAY['body', 'role', 'coverage_start', 'coverage_end']"
# PostgreSQL computes a generated column before it checks constraints, so reversed bounds would
# raise a bare data exception (22000) there; GREATEST leaves the refusal to the named checks
# `period` and `ended_on`. For every row those checks admit it is the plain range.
COVERAGE = (
    "daterange(coverage_start, GREATEST(coverage_start, COALESCE(ended_on, coverage_end) + 1))"
)


def upgrade() -> None:
    op.create_table(
        "roster_batches",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("agreement_id", sa.Uuid, sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("organization_id", sa.Uuid, sa.ForeignKey("organizations.id")),
        sa.Column("api_key_id", sa.Uuid),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("atomic", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("request_hash", sa.Text),
        sa.Column("response_status", sa.SmallInteger),
        sa.Column("status", sa.Text, nullable=False, server_default="received"),
        sa.Column("applied", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("total_rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("processed_rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counts", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("warnings", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("delimiter", sa.Text),
        sa.Column("columns", ARRAY(sa.Text)),
        sa.Column("file_date", sa.Date),
        sa.Column("error", sa.Text),
        sa.Column("error_detail", sa.Text),
        sa.Column("timings", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        *timestamps(),
        sa.CheckConstraint("format IN ('json', 'ndjson', 'csv', 'xlsx')", name="format"),
        sa.CheckConstraint("mode IN ('upsert', 'replace')", name="mode"),
        sa.CheckConstraint(
            "status IN ('received', 'processing', 'completed', 'failed')", name="status"
        ),
        sa.CheckConstraint("processed_rows BETWEEN 0 AND total_rows", name="progress"),
        sa.CheckConstraint("status <> 'failed' OR error IS NOT NULL", name="failed_error"),
        sa.CheckConstraint("NOT applied OR status = 'completed'", name="applied_completed"),
    )
    op.create_index("ix_roster_batches_agreement_id", "roster_batches", ["agreement_id"])
    # One batch per (organization, Idempotency-Key); the admin key has no organization.
    op.execute(
        "CREATE UNIQUE INDEX uq_roster_batches_idempotency ON roster_batches "
        "((COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid)), "
        "idempotency_key) WHERE idempotency_key IS NOT NULL"
    )
    # What the start-up recovery looks for: batches a process may have left unfinished.
    op.create_index(
        "ix_roster_batches_unfinished",
        "roster_batches",
        ["created_at"],
        postgresql_where=sa.text("status IN ('received', 'processing')"),
    )

    op.create_table(
        "roster_batch_rows",
        sa.Column("batch_id", sa.Uuid, sa.ForeignKey("roster_batches.id"), primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("nik", sa.Text),
        sa.Column("codes", ARRAY(sa.Text), nullable=False),
        sa.Column("messages", ARRAY(sa.Text), nullable=False),
        sa.Column("original", ARRAY(sa.Text), nullable=False),
        sa.CheckConstraint("outcome IN ('rejected', 'held')", name="outcome"),
        sa.CheckConstraint("cardinality(codes) > 0", name="codes"),
        sa.CheckConstraint("row_number >= 1", name="row_number"),
    )

    op.create_table(
        "registrations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("nik", sa.BigInteger, nullable=False),
        sa.Column("agreement_id", sa.Uuid, nullable=False),
        sa.Column("cohort_id", sa.Uuid, nullable=False),
        sa.Column("batch_id", sa.Uuid, sa.ForeignKey("roster_batches.id")),
        sa.Column("role_code", sa.Text, nullable=False),
        sa.Column("position", sa.Text),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("region_code", sa.Text, sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("tps", sa.Text),
        sa.Column("coverage_start", sa.Date, nullable=False),
        sa.Column("coverage_end", sa.Date, nullable=False),
        sa.Column("ended_on", sa.Date),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column(
            "coverage",
            sa.dialects.postgresql.DATERANGE,
            sa.Computed(COVERAGE),
            nullable=False,
        ),
        sa.Column("end_reason", sa.Text),
        sa.Column("replaces_id", sa.BigInteger, sa.ForeignKey("registrations.id")),
        sa.Column("conflict_registration_id", sa.BigInteger, sa.ForeignKey("registrations.id")),
        sa.Column("conflict", JSONB),
        sa.Column("kpj", sa.Text),
        sa.Column("nik_warnings", ARRAY(sa.Text)),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["cohort_id", "agreement_id", "role_code"],
            ["cohorts.id", "cohorts.agreement_id", "cohorts.role_code"],
            name="fk_registrations_cohort_identity",
        ),
        sa.CheckConstraint("nik BETWEEN 1000000000000000 AND 9999999999999999", name="nik"),
        sa.CheckConstraint("coverage_end >= coverage_start", name="period"),
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= coverage_start - 1", name="ended_on"),
        sa.CheckConstraint(
            "status IN ('active', 'terminated', 'replaced', 'held', 'rejected')", name="status"
        ),
        sa.CheckConstraint(
            "status NOT IN ('terminated', 'replaced') OR ended_on IS NOT NULL", name="end_date"
        ),
        sa.CheckConstraint("status <> 'held' OR conflict IS NOT NULL", name="held_conflict"),
        sa.CheckConstraint(
            f"conflict IS NULL OR (jsonb_typeof(conflict) = 'object' "
            f"AND jsonb_strip_nulls(conflict) ?& {CONFLICT_KEYS} "
            f"AND conflict - {CONFLICT_KEYS} = '{{}}'::jsonb)",
            name="conflict",
        ),
        sa.CheckConstraint("sex IS NULL OR sex IN ('L', 'P')", name="sex"),
        sa.CheckConstraint(
            "position IS NULL OR position IN ('ketua', 'anggota', 'sekretaris', 'staf')",
            name="position",
        ),
    )
    op.create_index("ix_registrations_nik", "registrations", ["nik"])
    # Every index here costs each roster insert. None on cohort_id, batch_id or region_code alone:
    # lookups by cohort or region go through the agreement (ix_registrations_agreement_report,
    # 0007), and batches and regions are never deleted, so their foreign keys need no index.
    # The registrations list pages each agreement by id (app/registrations/repository.py).
    op.create_index("ix_registrations_agreement_id_id", "registrations", ["agreement_id", "id"])
    op.create_index(
        "uq_registrations_nik_cohort_open",
        "registrations",
        ["nik", "cohort_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('active', 'held')"),
    )
    # Rule 1 of the design: one NIK is protected at most once on any day, across all agreements.
    op.execute(
        "ALTER TABLE registrations ADD CONSTRAINT ex_registrations_nik_coverage "
        "EXCLUDE USING gist (nik WITH =, coverage WITH &&) "
        f"WHERE (status IN {COVERING_STATUSES})"
    )
    op.execute(END_WITH_AGREEMENT)
    op.execute(
        "CREATE TRIGGER agreements_end_registrations AFTER UPDATE OF status ON agreements "
        "FOR EACH ROW WHEN (NEW.status = 'ended' AND OLD.status <> 'ended') "
        "EXECUTE FUNCTION agreements_end_registrations()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER agreements_end_registrations ON agreements")
    op.execute("DROP FUNCTION agreements_end_registrations()")
    op.drop_table("registrations")
    op.drop_table("roster_batch_rows")
    op.drop_table("roster_batches")
