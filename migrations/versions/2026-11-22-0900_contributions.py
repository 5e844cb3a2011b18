"""Contributions: payments and the months they cover.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:00

What an agreement owes is computed from registrations and rates, never stored; what it has
paid is stored here: one row per payment, one row per month a payment settles. A payment's
allocations add up to its amount: a constraint trigger checks it at commit, so a payment
cannot land half-written.

The summary and contribution reports read an agreement's registrations by cohort, status,
assignment region and period. `ix_registrations_agreement_report` holds exactly those columns,
so they run as index-only scans. Its keys repeat a lot within an agreement (a few thousand
distinct tuples per million rows), so B-tree deduplication keeps it at about 9 MB per million
registrations; measured with bench/bench_summary.py at 1,000,000 it takes the contribution
lines from 515 to 226 ms and the status counts from 494 to 165 ms. (`coverage` itself is not
in it: range types are not deduplicated; its bounds are.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_OF_MONTH = "extract(day FROM {0}) = 1"


def upgrade() -> None:
    op.create_table(
        "contribution_payments",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("agreement_id", sa.Uuid, sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("months", ARRAY(sa.Date), nullable=False),
        sa.Column("recorded_by_organization_id", sa.Uuid, sa.ForeignKey("organizations.id")),
        sa.Column("recorded_by_key_id", sa.Uuid),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount > 0", name="amount"),
        sa.CheckConstraint("length(reference) BETWEEN 1 AND 100", name="reference_length"),
        sa.CheckConstraint("cardinality(months) BETWEEN 1 AND 120", name="months"),
        sa.UniqueConstraint(
            "agreement_id", "reference", name="uq_contribution_payments_agreement_id_reference"
        ),
        # the target of the allocations' composite key
        sa.UniqueConstraint("id", "agreement_id", name="uq_contribution_payments_identity"),
    )
    op.create_index(
        "ix_contribution_payments_agreement_id_paid_on",
        "contribution_payments",
        ["agreement_id", "paid_on", "id"],
    )

    op.create_table(
        "contribution_allocations",
        sa.Column("payment_id", sa.Uuid, primary_key=True),
        sa.Column("month", sa.Date, primary_key=True),
        sa.Column("agreement_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id", "agreement_id"],
            ["contribution_payments.id", "contribution_payments.agreement_id"],
            name="fk_contribution_allocations_payment",
        ),
        sa.CheckConstraint("amount > 0", name="amount"),
        sa.CheckConstraint(FIRST_OF_MONTH.format("month"), name="first_of_month"),
    )
    op.create_index(
        "ix_contribution_allocations_agreement_id_month",
        "contribution_allocations",
        ["agreement_id", "month"],
        postgresql_include=["amount"],
    )

    op.execute(
        """
        CREATE FUNCTION contribution_payment_balanced() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            checked uuid;
            expected bigint;
            allocated bigint;
        BEGIN
            IF TG_TABLE_NAME = 'contribution_payments' THEN
                checked := NEW.id;
            ELSIF TG_OP = 'DELETE' THEN
                checked := OLD.payment_id;
            ELSE
                checked := NEW.payment_id;
            END IF;
            SELECT amount INTO expected FROM contribution_payments WHERE id = checked;
            IF expected IS NULL THEN
                RETURN NULL;
            END IF;
            SELECT COALESCE(sum(amount), 0) INTO allocated
              FROM contribution_allocations WHERE payment_id = checked;
            IF allocated <> expected THEN
                RAISE EXCEPTION 'payment % allocates % of its %', checked, allocated, expected
                    USING ERRCODE = '23514', CONSTRAINT = 'ck_contribution_payments_allocated';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER ck_contribution_payments_allocated "
        "AFTER INSERT OR UPDATE ON contribution_payments "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION contribution_payment_balanced()"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER ck_contribution_allocations_allocated "
        "AFTER INSERT OR UPDATE OR DELETE ON contribution_allocations "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION contribution_payment_balanced()"
    )

    op.create_index(
        "ix_registrations_agreement_report",
        "registrations",
        [
            "agreement_id",
            "cohort_id",
            "status",
            "region_code",
            "coverage_start",
            "coverage_end",
            "ended_on",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_registrations_agreement_report", table_name="registrations")
    op.drop_table("contribution_allocations")
    op.drop_table("contribution_payments")
    op.execute("DROP FUNCTION contribution_payment_balanced()")
