"""What a key needs for the events feed."""

from typing import Annotated

from app.core.auth import Principal, require

EventsRead = Annotated[Principal, require("events:read")]
