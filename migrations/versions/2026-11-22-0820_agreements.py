"""Agreements (PKS), their per-program rates and their cohorts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from migrations.helpers import timestamps

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("number", sa.Text, nullable=False, unique=True),
        sa.Column("bpjs_branch_id", sa.Uuid, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("counterpart_id", sa.Uuid, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("payer_id", sa.Uuid, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("election_code", sa.Text, sa.ForeignKey("elections.code"), nullable=False),
        sa.Column("region_code", sa.Text, sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("signed_place", sa.Text),
        sa.Column("programs", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="draft"),
        sa.Column("ended_on", sa.Date),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *timestamps(),
        sa.CheckConstraint("status IN ('draft', 'active', 'ended', 'cancelled')", name="status"),
        sa.CheckConstraint(
            "cardinality(programs) > 0 AND programs <@ ARRAY['JKK', 'JKM']::text[]",
            name="programs",
        ),
        sa.CheckConstraint("bpjs_branch_id <> counterpart_id", name="distinct_parties"),
        sa.CheckConstraint("(status = 'ended') = (ended_on IS NOT NULL)", name="ended_on"),
        sa.CheckConstraint("length(number) BETWEEN 1 AND 200", name="number_length"),
        sa.CheckConstraint("version >= 1", name="version"),
        # An agreement is in force once signed; it cannot end before it was signed.
        sa.CheckConstraint(
            "status IN ('draft', 'cancelled') OR signed_on IS NOT NULL", name="signed_when_active"
        ),
        sa.CheckConstraint("ended_on >= signed_on", name="ended_after_signed"),
        sa.CheckConstraint("length(signed_place) BETWEEN 1 AND 200", name="signed_place_length"),
    )
    for column in ("bpjs_branch_id", "counterpart_id", "payer_id", "election_code", "region_code"):
        op.create_index(f"ix_agreements_{column}", "agreements", [column])

    op.create_table(
        "agreement_rates",
        sa.Column("agreement_id", sa.Uuid, sa.ForeignKey("agreements.id"), primary_key=True),
        sa.Column("program", sa.Text, primary_key=True),
        sa.Column("basis_points", sa.Integer),
        sa.Column("flat_amount", sa.BigInteger),
        sa.CheckConstraint("program IN ('JKK', 'JKM')", name="program"),
        sa.CheckConstraint("num_nonnulls(basis_points, flat_amount) = 1", name="one_rate"),
        sa.CheckConstraint("basis_points BETWEEN 0 AND 10000", name="basis_points"),
        sa.CheckConstraint("flat_amount >= 0", name="flat_amount"),
    )

    op.create_table(
        "cohorts",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("agreement_id", sa.Uuid, sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("role_code", sa.Text, sa.ForeignKey("roles.code"), nullable=False),
        sa.Column("election_code", sa.Text, sa.ForeignKey("elections.code"), nullable=False),
        sa.Column("planned_headcount", sa.Integer, nullable=False),
        sa.Column("coverage_start", sa.Date, nullable=False),
        sa.Column("coverage_end", sa.Date, nullable=False),
        sa.Column("declared_wage", sa.BigInteger, nullable=False, server_default="1000000"),
        *timestamps(),
        sa.CheckConstraint("coverage_end >= coverage_start", name="period"),
        sa.CheckConstraint("planned_headcount >= 0", name="planned_headcount"),
        sa.CheckConstraint("declared_wage > 0", name="declared_wage"),
        # registrations point at (id, agreement_id, role_code) so their role is the cohort's
        sa.UniqueConstraint("id", "agreement_id", "role_code", name="uq_cohorts_identity"),
    )
    op.create_index("ix_cohorts_agreement_id", "cohorts", ["agreement_id"])
    op.execute(
        "ALTER TABLE cohorts ADD CONSTRAINT ex_cohorts_role_period EXCLUDE USING gist "
        "(agreement_id WITH =, role_code WITH =, "
        "daterange(coverage_start, coverage_end, '[]') WITH &&)"
    )


def downgrade() -> None:
    op.drop_table("cohorts")
    op.drop_table("agreement_rates")
    op.drop_table("agreements")
