"""The event catalogue: every type an event may have, and the ones a subscription may ask for."""

from enum import StrEnum


class EventType(StrEnum):
    ROSTER_BATCH_COMPLETED = "roster_batch.completed"
    ROSTER_BATCH_FAILED = "roster_batch.failed"
    REGISTRATION_HELD = "registration.held"
    REGISTRATION_RESOLVED = "registration.resolved"
    REGISTRATION_ENDED = "registration.ended"
    CLAIM_CREATED = "claim.created"
    CLAIM_STATUS_CHANGED = "claim.status_changed"
    CLAIM_DOCUMENT_RECEIVED = "claim.document_received"
    AGREEMENT_STATUS_CHANGED = "agreement.status_changed"
    CONTRIBUTION_PAYMENT_RECORDED = "contribution.payment_recorded"
    # Sent to one endpoint on request (POST /v1/webhook-endpoints/{id}/test), never in the feed.
    PING = "ping"


SUBSCRIBABLE: tuple[str, ...] = tuple(t.value for t in EventType if t is not EventType.PING)
