"""HTTP endpoints of the coverage domain: coverage checks and the access log."""

import uuid
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import Response

from app.core.accesslog import access_log_writer
from app.core.auth import PrincipalDep
from app.core.database import SessionDep
from app.core.manners import accepts_gzip
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.replica import read_on_replica
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.coverage import batches, service
from app.coverage.auth import CoverageReader
from app.coverage.dependencies import LookupRoute
from app.coverage.runtime import lookup_connection
from app.coverage.schemas import (
    AccessLogRead,
    CoverageCheckRequest,
    CoverageChecksRead,
    CoverageRead,
)

router = api_router(prefix="/v1", tags=["coverage"])


OnQuery = Annotated[
    date | None,
    Query(description="The day asked about (YYYY-MM-DD); today in Asia/Jakarta when left out"),
]


async def get_coverage(
    request: Request,
    nik: Annotated[str, Path(description="16 digits", examples=["1209185705900001"])],
    principal: CoverageReader,
    on: OnQuery = None,
) -> Response:
    app = request.app
    writer = access_log_writer(app)
    result = await read_on_replica(
        app,
        lambda connect: service.check_one(connect, principal, nik=nik, on=on, access_log=writer),
        partial(lookup_connection, app),
    )
    return json_response(result)


router.add_api_route(
    "/coverage/{nik}",
    get_coverage,
    methods=["GET"],
    route_class_override=LookupRoute,
    response_model=CoverageRead,
    summary="Is this NIK covered on a day, and if not, why",
    description=(
        "Any key with `coverage:read` may ask about any NIK. Without `pii:read` the NIK is "
        "masked and names, birth dates and KPJ numbers are left out; with it they are shown "
        "for registrations under agreements the caller's organization is party to (all, for "
        "operators), and stay masked for the rest. Every read is written to the access log."
    ),
    responses=problems(403),
)


@router.post(
    "/coverage/checks",
    response_model=CoverageChecksRead,
    summary="Check up to 10,000 NIKs at once",
    description=(
        "`{on, niks}` checks every NIK on one day, `{items: [{nik, on}]}` each on its own. "
        "Results come in the order asked, each shaped like `GET /v1/coverage/{nik}`; a "
        "malformed NIK gets an `error` in its place instead of failing the request. Masking "
        "and the access log work as for a single check."
    ),
    responses=problems(403, 415),
)
async def check_coverage(
    request: Request, data: CoverageCheckRequest, principal: CoverageReader
) -> Response:
    answer = await batches.check_many_json(request.app, principal, data, gzip=accepts_gzip(request))
    if answer.encoding is None:
        return Response(answer.body, media_type="application/json")
    headers = {"Content-Encoding": answer.encoding, "Vary": "Accept-Encoding"}
    return Response(answer.body, media_type="application/json", headers=headers)


@router.get(
    "/access-log",
    response_model=Page[AccessLogRead],
    summary="Who read which NIK (operators only), newest first",
    description=(
        "One row per NIK read (coverage checks, claims, and personal data shown), with the "
        "key, its organization, the endpoint and the time (UU 27/2022). Rows reach the table "
        "within a second or so of the read: they are batched, and spooled to disk meanwhile."
    ),
    responses=problems(403),
)
async def list_access_log(
    session: SessionDep,
    principal: PrincipalDep,
    nik: Annotated[str | None, Query(description="Reads of this NIK")] = None,
    organization: Annotated[
        uuid.UUID | None, Query(description="Reads by this organization")
    ] = None,
    key: Annotated[uuid.UUID | None, Query(description="Reads with this API key")] = None,
    since: Annotated[date | None, Query(description="Reads on or after this day (UTC)")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AccessLogRead]:
    return await service.list_access_log(
        session,
        principal,
        nik=nik,
        organization_id=organization,
        api_key_id=key,
        since=since,
        limit=limit,
        cursor=cursor,
    )
