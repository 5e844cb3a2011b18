"""The rate limits' shared counts: each process adds what it counted to its window's row once a
second (app.core.ratelimit), so that a key's limit holds across processes and replicas.

Unlogged (no WAL for a row written every second): a crash or a failover empties it, and each
process keeps what it knew of its windows and counts on from there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 23:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_limit_windows (
            limit_name text NOT NULL,
            name text NOT NULL,
            window_index bigint NOT NULL,
            hits bigint NOT NULL,
            ends_at timestamptz NOT NULL,
            CONSTRAINT pk_rate_limit_windows PRIMARY KEY (limit_name, name, window_index),
            CONSTRAINT ck_rate_limit_windows_hits CHECK (hits >= 0)
        )
        """
    )


def downgrade() -> None:
    op.drop_table("rate_limit_windows")
