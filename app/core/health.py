"""Liveness, readiness and metrics."""

import asyncio

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import text

from app.core.errors import ServiceUnavailable
from app.core.routing import api_router, problems

router = api_router(tags=["health"])

READINESS_TIMEOUT_SECONDS = 3.0


@router.get(
    "/healthz",
    summary="Liveness: the process answers",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        **problems(503),
    },
)
async def readyz(request: Request) -> dict[str, str]:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with request.app.state.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailable("The database did not answer") from exc
    return {"status": "ready"}


@router.get(
    "/metrics",
    summary="Prometheus metrics: request counts and latency by route and status",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")
