"""Application factory: routers, error handlers, middleware and lifespan."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import configure_mappers

from app.agreements import exceptions as agreements_exceptions
from app.agreements.endpoints import router as agreements_router
from app.claims import exceptions as claims_exceptions
from app.claims.endpoints import router as claims_router
from app.console import install_console
from app.contract import SERVERS, TAGS, api_version, description
from app.contributions.endpoints import router as contributions_router
from app.core import accesslog, express, ratelimit, runtime_metrics
from app.core import replica as read_replica
from app.core.collector import collector_for_serving
from app.core.database import create_sessionmaker, engine_for, resolve_database_url
from app.core.errors import ConstraintErrors, install_error_handlers
from app.core.health import router as health_router
from app.core.manners import install_manners
from app.core.observability import Metrics, RequestContextMiddleware
from app.core.openapi import document_routes, operation_id
from app.core.ratelimit import RateLimits
from app.core.settings import Settings, get_settings
from app.coverage import batches as coverage_batches
from app.coverage import runtime as coverage_runtime
from app.coverage.endpoints import router as coverage_router
from app.docs import install_docs
from app.events.endpoints import router as events_router
from app.organizations.endpoints import router as organizations_router
from app.reference.endpoints import router as reference_router
from app.registrations import exceptions as registrations_exceptions
from app.registrations.endpoints import router as registrations_router
from app.rosters.endpoints import router as rosters_router
from app.webhooks.endpoints import router as webhooks_router

# Requests are matched against the routers in this order, one router after another (seventh in
# line, matching cost a request about 100 us of CPU). Coverage comes first: its lookup, the
# hottest path, is an express route (app.core.express), which no route with parameters may
# precede, and its batch check is next in heat. The docs keep the domains in reading order
# (app.contract.TAGS).
ROUTERS = (
    coverage_router,
    health_router,
    organizations_router,
    reference_router,
    agreements_router,
    rosters_router,
    registrations_router,
    claims_router,
    contributions_router,
    events_router,
    webhooks_router,
)
# What a refused write means, by constraint name, for the writes no service translated itself.
CONSTRAINT_ERRORS: ConstraintErrors = {
    **agreements_exceptions.CONSTRAINT_ERRORS,
    **claims_exceptions.CONSTRAINT_ERRORS,
    **registrations_exceptions.CONSTRAINT_ERRORS,
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as running:
        if not hasattr(app.state, "sessionmaker"):
            settings: Settings = app.state.settings
            engine = engine_for(resolve_database_url(settings), settings)
            running.push_async_callback(engine.dispose)
            app.state.engine = engine
            app.state.sessionmaker = create_sessionmaker(engine)
        running.push_async_callback((await accesslog.start_writer(app)).stop)
        running.push_async_callback((await coverage_runtime.start(app)).stop)  # the lookup pool
        if (batch_workers := await coverage_batches.start(app)) is not None:
            running.push_async_callback(batch_workers.stop)
        if (replica := await read_replica.start(app)) is not None:  # DATABASE_READ_URL
            running.push_async_callback(replica.stop)
        await running.enter_async_context(ratelimit.shared(app))
        configure_mappers()  # now, not at the first query: its objects are then hidden too
        running.enter_context(collector_for_serving())
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Perisai",
        version=api_version(),
        description=description(),
        servers=list(SERVERS),
        openapi_tags=list(TAGS),
        docs_url=None,  # install_docs serves /docs and /redoc without a CDN
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    runtime_metrics.install(app, app.state.metrics.registry)
    install_error_handlers(app, CONSTRAINT_ERRORS)
    for router in ROUTERS:
        app.include_router(router)
    document_routes(app)  # after every router: operationIds, common problem responses
    install_docs(app)
    app.state.rate_limits = RateLimits(settings.rate_limit_per_key, settings.rate_limit_failed_auth)
    install_manners(app, settings)  # CORS and OPTIONS: inside the request middleware
    install_console(app)  # the operator console, /console
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_upload_bytes,
        gzip_min_bytes=settings.gzip_min_bytes,
    )
    express.install(app)  # last: it reads every route and exception handler
    return app
