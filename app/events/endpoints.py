"""HTTP endpoint of the events domain: the feed, for systems that poll instead of listening."""

import uuid

from fastapi import Query

from app.core.database import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.routing import api_router, problems
from app.events import service
from app.events.auth import EventsRead
from app.events.schemas import EventRead
from app.events.types import SUBSCRIBABLE

router = api_router(prefix="/v1", tags=["events"])


@router.get(
    "/events",
    response_model=Page[EventRead],
    summary="The organization's events, oldest first after the cursor",
    description=(
        "Every event of the agreements the organization is party to (operators: all), in the "
        "order they committed, with the same ids the webhooks carry (`webhook-id`). A system "
        "that was down, or that takes no inbound HTTP, catches up by polling: keep "
        "`next_cursor` and ask again after it. `next_cursor` is given with every page that has "
        "items (and echoes the cursor sent with an empty one), so an empty page means caught "
        "up for now, not the end. An event shows once every transaction older than its own "
        "has ended, so a cursor never skips an event that committed late."
        f"\n\nTypes: {', '.join(f'`{t}`' for t in SUBSCRIBABLE)}."
    ),
    responses=problems(403),
)
async def list_events(
    session: SessionDep,
    principal: EventsRead,
    type: str | None = Query(default=None, max_length=60, examples=["claim.created"]),
    agreement_id: uuid.UUID | None = Query(default=None),
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[EventRead]:
    return await service.list_events(
        session, principal, type=type, agreement_id=agreement_id, limit=limit, cursor=cursor
    )
