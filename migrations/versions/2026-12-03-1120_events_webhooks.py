"""Events and webhooks: the outbox, the subscriptions, their deliveries and every attempt.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00

An event is written in the transaction of the change it announces, with that transaction's id
(`txid`): the feed (GET /v1/events) shows only events below the oldest running transaction, so
that a cursor never passes an event that commits late. The same INSERT fans the event out to
the deliveries of the enabled endpoints that want it (app/events/repository.py); a statement
trigger on deliveries NOTIFYs `webhook_deliveries` at commit to wake the dispatchers. Events
are never changed or deleted (the trigger `refuse_change` of revision 0008).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app/events/types.py EventType, as it stood when this revision was written.
EVENT_TYPES = (
    "roster_batch.completed",
    "roster_batch.failed",
    "registration.held",
    "registration.resolved",
    "registration.ended",
    "claim.created",
    "claim.status_changed",
    "claim.document_received",
    "agreement.status_changed",
    "contribution.payment_recorded",
    "ping",
)
# A transaction that will be prepared (a roster's second connection, app/rosters/lanes.py) may
# not NOTIFY, so it sets perisai.quiet_deliveries and wakes the dispatchers after COMMIT PREPARED.
NOTIFY = """
CREATE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('perisai.quiet_deliveries', true) IS DISTINCT FROM 'on'
       AND EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$
"""


def _timestamp(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default else None,
    )


def upgrade() -> None:
    types = ", ".join(f"'{t}'" for t in EVENT_TYPES)
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "public_id",
            sa.Text,
            nullable=False,
            unique=True,
            server_default=sa.text("('evt_' || replace(gen_random_uuid()::text, '-', ''))"),
        ),
        sa.Column("agreement_id", sa.Uuid, sa.ForeignKey("agreements.id")),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("data", postgresql.JSONB, nullable=False),
        _timestamp("created_at", nullable=False, default=True),
        sa.Column("txid", sa.BigInteger, nullable=False, server_default=sa.text("txid_current()")),
        sa.CheckConstraint(f"type IN ({types})", name="type"),
        sa.CheckConstraint("(type = 'ping') = (agreement_id IS NULL)", name="agreement"),
        sa.CheckConstraint("jsonb_typeof(data) = 'object'", name="data"),
    )
    op.create_index("ix_events_txid_id", "events", ["txid", "id"])
    op.create_index("ix_events_agreement_id_txid_id", "events", ["agreement_id", "txid", "id"])
    op.execute(
        "CREATE TRIGGER events_kept BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change('_kept', 'are never changed or deleted')"
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("organization_id", sa.Uuid, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("event_types", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("disabled_reason", sa.Text),
        _timestamp("disabled_at"),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        _timestamp("previous_secret_expires_at"),
        _timestamp("failing_since"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _timestamp("deleted_at"),
        _timestamp("created_at", nullable=False, default=True),
        _timestamp("updated_at", nullable=False, default=True),
        sa.CheckConstraint("url ~ '^https?://' AND length(url) <= 2000", name="url"),
        sa.CheckConstraint(
            f"cardinality(event_types) >= 1 AND event_types <@ ARRAY[{types}]::text[] "
            "AND NOT 'ping' = ANY(event_types)",
            name="event_types",
        ),
        sa.CheckConstraint("secret LIKE 'whsec_%'", name="secret"),
        sa.CheckConstraint("enabled OR disabled_at IS NOT NULL", name="disabled"),
    )
    op.create_index(
        "ix_webhook_endpoints_organization_id",
        "webhook_endpoints",
        ["organization_id"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("endpoint_id", sa.Uuid, sa.ForeignKey("webhook_endpoints.id"), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _timestamp("next_attempt_at", nullable=False, default=True),
        _timestamp("lease_until"),
        _timestamp("created_at", nullable=False, default=True),
        _timestamp("delivered_at"),
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        sa.CheckConstraint("attempts >= 0", name="attempts"),
        sa.CheckConstraint("(status = 'delivered') = (delivered_at IS NOT NULL)", name="delivered"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_id", "webhook_deliveries", ["endpoint_id", "id"]
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["endpoint_id", "next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_leased",
        "webhook_deliveries",
        ["endpoint_id"],
        postgresql_where=sa.text("status = 'pending' AND lease_until IS NOT NULL"),
    )
    op.execute(NOTIFY)
    op.execute(
        "CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries "
        "REFERENCING NEW TABLE AS inserted "
        "FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_notify()"
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "delivery_id", sa.BigInteger, sa.ForeignKey("webhook_deliveries.id"), nullable=False
        ),
        _timestamp("attempted_at", nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("response_body", sa.Text),
        sa.CheckConstraint("length(response_body) <= 1024", name="response_body"),
        sa.CheckConstraint("status_code IS NOT NULL OR error IS NOT NULL", name="outcome"),
        sa.CheckConstraint("latency_ms >= 0", name="latency"),
    )
    op.create_index("ix_webhook_attempts_delivery_id_id", "webhook_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.execute("DROP TRIGGER webhook_deliveries_notify ON webhook_deliveries")
    op.execute("DROP FUNCTION webhook_deliveries_notify()")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.execute("DROP TRIGGER events_kept ON events")
    op.drop_table("events")
