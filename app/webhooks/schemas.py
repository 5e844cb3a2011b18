"""What the webhook endpoints take and answer."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.events.types import EventType

WebhookUrl = Annotated[
    str,
    Field(min_length=8, max_length=2000, examples=["https://kpu-asahan.example/perisai-hooks"]),
]


def _subscribable(types: list[EventType]) -> list[EventType]:
    if EventType.PING in types:
        raise ValueError("ping is sent on request (POST .../test); it cannot be subscribed to")
    if len(set(types)) != len(types):
        raise ValueError("an event type is listed twice")
    return types


EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EventType), examples=[["roster_batch.completed"]]),
    AfterValidator(_subscribable),
]
Description = Annotated[str, Field(max_length=500, examples=["Sistem kepegawaian KPU Asahan"])]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://kpu-asahan.example/perisai-hooks",
                    "event_types": ["roster_batch.completed", "roster_batch.failed"],
                    "description": "Sistem kepegawaian KPU Asahan",
                }
            ]
        },
    )

    url: WebhookUrl
    event_types: EventTypes
    description: Description | None = None
    enabled: bool = True


class WebhookEndpointUpdate(BaseModel):
    """Fields given replace the endpoint's; re-enabling clears why it was disabled."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"event_types": ["claim.created"], "enabled": True}]},
    )

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookEndpointRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the endpoint was disabled, e.g. after three days of failed deliveries"
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="First failure since the last success")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation signs too"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookEndpointSecret(WebhookEndpointRead):
    """An endpoint with its signing secret, shown once: at creation and at rotation."""

    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class SecretRotate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"keep_previous_hours": 24}]}
    )

    keep_previous_hours: int = Field(
        default=24, ge=0, le=168, description="How long the old secret keeps signing too"
    )


class AttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None = Field(examples=["timeout"])
    response_body: str | None = Field(description="The first 1 KB of the receiver's answer")


class DeliveryRead(BaseModel):
    id: int
    event_id: str = Field(description="The `webhook-id` sent")
    event_type: str
    status: str = Field(description="`pending`, `delivered` or `failed` (every retry used)")
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    history: list[AttemptRead] = Field(description="Every attempt, oldest first")
