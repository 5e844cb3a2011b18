"""The outbox of events and the webhooks that carry them: endpoints, deliveries, attempts.

Check constraints and triggers (events are never changed; inserting deliveries notifies the
dispatchers) are the migration's alone (migrations/versions/..._events_webhooks.py).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class Event(Base):
    """One immutable event, written in the transaction of the change it announces."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_txid_id", "txid", "id"),
        Index("ix_events_agreement_id_txid_id", "agreement_id", "txid", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[str] = mapped_column(
        Text,
        unique=True,
        # As PostgreSQL prints the migration's default back, so that the two compare equal.
        server_default=text(
            "('evt_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"
        ),
    )
    # None only for a `ping`, which belongs to the one endpoint it tests.
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agreements.id"))
    type: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    # The writing transaction's id: the feed shows an event once no older transaction runs.
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("txid_current()"))


class WebhookEndpoint(Timestamped, Base):
    """A subscription of an organization: where to send which event types, signed how."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index(
            "ix_webhook_endpoints_organization_id",
            "organization_id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret: Mapped[str] = mapped_column(Text)
    # During a rotation both secrets sign, until the old one expires.
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The first failure since the last success: three days of it disable the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """An event to send to one endpoint, until it is delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "endpoint_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # The deliveries in flight, counted per endpoint at every claim (app/webhooks/queue.py).
        Index(
            "ix_webhook_deliveries_leased",
            "endpoint_id",
            postgresql_where=text("status = 'pending' AND lease_until IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    # pending | delivered | failed (every retry used)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    # A dispatcher holds it until then; past it, another one may take it over.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One try at a delivery: what the receiver answered, or why nothing came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("webhook_deliveries.id"))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 1 KB
