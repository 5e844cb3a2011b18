"""A roster batch applied on two connections reads `processing` until the second one's
prepared half has committed too (app/rosters/runner.complete_applied): `applied` may be true
while it is `processing`, never while it is `received` or `failed`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "roster_batches"
NAME = "applied_completed"


def upgrade() -> None:
    op.drop_constraint(NAME, TABLE, type_="check")
    op.create_check_constraint(NAME, TABLE, "NOT applied OR status IN ('processing', 'completed')")


def downgrade() -> None:
    op.execute(f"UPDATE {TABLE} SET status = 'completed' WHERE applied AND status = 'processing'")
    op.drop_constraint(NAME, TABLE, type_="check")
    op.create_check_constraint(NAME, TABLE, "NOT applied OR status = 'completed'")
