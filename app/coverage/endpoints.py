"""HTTP endpoints of the coverage domain."""

from app.core.routing import api_router

router = api_router(prefix="/v1", tags=["coverage"])
