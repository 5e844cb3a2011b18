"""Coverage: the access log of coverage reads, and KPJ membership numbers on registrations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:40

A KPJ belongs to one person: the same number may sit on several registrations of one NIK
(one person enrolled in several cohorts over the years), never on two NIKs. That is an
exclusion constraint `(kpj WITH =, nik WITH <>)` over the rows that carry a KPJ, so the
number stays on the registration the branch set it on (a branch never writes into another
branch's registrations, as a separate memberships table keyed by NIK would make it do).
Caveat for a later Citus split by NIK: a constraint comparing NIKs with `<>` spans shards,
so it would have to move to a small KPJ -> NIK reference table then.

access_log has no index on `at`: it is read newest first by id (ids follow time closely
enough for an audit listing), filtered by NIK or organization.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        # When the read happened (not when the buffered row reached the table).
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Uuid, sa.ForeignKey("api_keys.id")),
        sa.Column("organization_id", sa.Uuid, sa.ForeignKey("organizations.id")),
        sa.Column("nik", sa.BigInteger, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("registrations", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("nik BETWEEN 0 AND 9999999999999999", name="nik"),
        sa.CheckConstraint("length(endpoint) BETWEEN 1 AND 100", name="endpoint_length"),
        sa.CheckConstraint("registrations >= 0", name="registrations"),
    )
    op.create_index("ix_access_log_nik_id", "access_log", ["nik", "id"])
    op.create_index("ix_access_log_organization_id_id", "access_log", ["organization_id", "id"])

    op.execute(
        "ALTER TABLE registrations ADD CONSTRAINT ck_registrations_kpj "
        "CHECK (kpj IS NULL OR kpj ~ '^[0-9]{11}$')"
    )
    # Also the index behind `WHERE kpj = ...` lookups (btree_gist, created in 0001).
    op.execute(
        "ALTER TABLE registrations ADD CONSTRAINT ex_registrations_kpj_person "
        "EXCLUDE USING gist (kpj WITH =, nik WITH <>) WHERE (kpj IS NOT NULL)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE registrations DROP CONSTRAINT ex_registrations_kpj_person")
    op.execute("ALTER TABLE registrations DROP CONSTRAINT ck_registrations_kpj")
    op.drop_index("ix_access_log_organization_id_id", table_name="access_log")
    op.drop_index("ix_access_log_nik_id", table_name="access_log")
    op.drop_table("access_log")
