"""HTTP endpoints of the agreements domain."""

from app.core.routing import api_router

router = api_router(prefix="/v1", tags=["agreements"])
