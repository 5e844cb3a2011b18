"""What the events feed answers."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class EventRead(BaseModel):
    id: str = Field(
        description="The event's id, the `webhook-id` of its deliveries", examples=["evt_0f3c..."]
    )
    type: str = Field(examples=["roster_batch.completed"])
    agreement_id: uuid.UUID
    created_at: datetime
    data: dict[str, Any] = Field(
        description="Ids, statuses, counts and links to fetch the rest; never personal data",
        examples=[
            {
                "batch_id": "5b0c7a52-8f5e-4c1e-9a43-6f3f3c1d2e10",
                "agreement_id": "0b8f6a7e-2d7c-4f0e-8e0f-1c2d3e4f5a6b",
                "status": "completed",
                "total_rows": 12465,
                "counts": {"created": 12400, "held": 3, "rejected": 62},
                "links": {"batch": "/v1/roster-batches/5b0c7a52-8f5e-4c1e-9a43-6f3f3c1d2e10"},
            }
        ],
    )
