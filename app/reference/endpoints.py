"""HTTP endpoints of the reference domain."""

from app.core.routing import api_router

router = api_router(prefix="/v1", tags=["reference"])
