"""Roster rows with NIK warnings, and the purge of a refused roster's rejected rows.

Revision ID: 0016
Revises: 0009
Create Date: 2026-12-03 11:00

A batch's rows table (roster_batch_rows) held its rejected and held rows; it now also holds the
rows taken with NIK warnings (a birth date or sex that the NIK contradicts, a district code no
longer in the region table), with their outcome and `warnings`. A roster refused whole
(atomic=true, 422) registered nothing: its rejected rows' NIKs and cells are kept only for the
errors file, and purged after ROSTER_ERRORS_RETENTION_HOURS (`errors_purged_at` on the batch).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0016"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = "('rejected', 'held', 'created', 'updated', 'unchanged', 'replaced')"


def upgrade() -> None:
    op.add_column(
        "roster_batch_rows",
        sa.Column("warnings", ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.drop_constraint("outcome", "roster_batch_rows", type_="check")
    op.drop_constraint("codes", "roster_batch_rows", type_="check")
    op.create_check_constraint("outcome", "roster_batch_rows", f"outcome IN {OUTCOMES}")
    # A rejected or held row says why; a row that was taken is here for its warnings.
    op.create_check_constraint(
        "codes",
        "roster_batch_rows",
        "CASE WHEN outcome IN ('rejected', 'held') THEN cardinality(codes) > 0 "
        "ELSE cardinality(codes) = 0 AND cardinality(warnings) > 0 END",
    )
    op.add_column("roster_batches", sa.Column("errors_purged_at", sa.DateTime(timezone=True)))
    # What the purge reads: refused batches whose rows still hold personal data.
    op.create_index(
        "ix_roster_batches_refused_unpurged",
        "roster_batches",
        ["finished_at"],
        postgresql_where=sa.text("error = 'roster_rejected' AND errors_purged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_roster_batches_refused_unpurged", "roster_batches")
    op.drop_column("roster_batches", "errors_purged_at")
    op.execute("DELETE FROM roster_batch_rows WHERE outcome NOT IN ('rejected', 'held')")
    op.drop_constraint("codes", "roster_batch_rows", type_="check")
    op.drop_constraint("outcome", "roster_batch_rows", type_="check")
    op.create_check_constraint("outcome", "roster_batch_rows", "outcome IN ('rejected', 'held')")
    op.create_check_constraint("codes", "roster_batch_rows", "cardinality(codes) > 0")
    op.drop_column("roster_batch_rows", "warnings")
