"""HTTP endpoints of the registrations domain."""

from app.core.routing import api_router

router = api_router(prefix="/v1", tags=["registrations"])
