"""HTTP endpoints of the rosters domain."""

from app.core.routing import api_router

router = api_router(prefix="/v1", tags=["rosters"])
