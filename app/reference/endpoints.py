"""HTTP endpoints of the reference domain: regions, roles, elections and benefit schedules."""

from datetime import date
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import Response

from app.core.auth import PrincipalDep
from app.core.clock import today
from app.core.database import SessionDep
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.reference import service
from app.reference.schemas import (
    BenefitScheduleRead,
    BenefitSchedulesInForce,
    ElectionCreate,
    ElectionRead,
    Program,
    RegionDetail,
    RegionLevel,
    RegionRead,
    RoleRead,
)

router = api_router(prefix="/v1", tags=["reference"])

RegionCodeParam = Annotated[
    str,
    Path(
        description="Dotted (`16.12.01.2001`) or undotted (`1612012001`) Kemendagri code",
        examples=["16.12.01.2001", "1612"],
    ),
]


@router.get(
    "/regions",
    response_model=Page[RegionRead],
    summary="List regions (Kepmendagri 2025)",
    description=(
        "All 91,599 regions of Indonesia: 38 provinces, 514 regencies and cities, 7,285 "
        "districts (kecamatan) and 83,762 villages (desa/kelurahan), in code order, paged with "
        "`limit` and `cursor`. Filter by `parent` (the direct parent, dotted or undotted), "
        "`level`, and `q` (case-insensitive substring of the name). A well-formed parent that "
        "does not exist gives an empty page; a malformed one 422 `invalid_region_code`. "
        "Any valid API key may read it."
    ),
    responses=problems(),
)
async def list_regions(
    session: SessionDep,
    _: PrincipalDep,
    parent: Annotated[
        str | None,
        Query(
            description="Direct parent code: `16.12` lists the districts of PALI",
            examples=["16.12"],
        ),
    ] = None,
    level: Annotated[RegionLevel | None, Query(description="Only this level")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Case-insensitive substring of the name",
            examples=["lematang"],
        ),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[RegionRead]:
    regions, next_cursor = await service.list_regions(
        session, parent=parent, level=level, q=q, limit=limit, cursor=cursor
    )
    return Page(items=[RegionRead.model_validate(r) for r in regions], next_cursor=next_cursor)


@router.get(
    "/regions/{code}",
    response_model=RegionDetail,
    summary="Read a region and its path up to the province",
    description=(
        "Accepts the code dotted (`16.12.01.2001`) or undotted (`1612012001`) and answers "
        "with the dotted form. `path` runs from the province down to the region itself, "
        "province first. A malformed code (digit groups other than 2, 2, 2, 4, or any "
        "non-digit) gives 422 `invalid_region_code`; a well-formed unknown one 404 "
        "`region_not_found`."
    ),
    responses=problems(404),
)
async def read_region(session: SessionDep, _: PrincipalDep, code: RegionCodeParam) -> RegionDetail:
    region, path = await service.get_region_with_path(session, code)
    return RegionDetail.model_validate(
        {
            "code": region.code,
            "name": region.name,
            "level": region.level,
            "parent_code": region.parent_code,
            "path": [{"code": r.code, "name": r.name, "level": r.level} for r in path],
        }
    )


@router.get(
    "/roles",
    response_model=Page[RoleRead],
    summary="List officer roles with their age limits",
    description=(
        "The catalog of ad-hoc officer roles of KPU and Bawaslu: body, level (kecamatan, desa, "
        "tps), Indonesian name and default age limits on voting day, plus `age_limits`, the "
        "elections that set their own limits for the role (such an entry replaces both "
        "defaults; `max_age` null means no maximum). One page: `next_cursor` is always null."
    ),
    responses=problems(),
)
async def list_roles(session: SessionDep, _: PrincipalDep) -> Page[RoleRead]:
    return Page(items=await service.list_roles(session))


@router.get(
    "/elections",
    response_model=Page[ElectionRead],
    summary="List elections",
    description="Elections in code order, each with the role age limits it sets.",
    responses=problems(),
)
async def list_elections(
    session: SessionDep, _: PrincipalDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[ElectionRead]:
    items, next_cursor = await service.list_elections(session, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/elections/{code}",
    response_model=ElectionRead,
    summary="Read an election",
    description="404 `election_not_found` for an unknown code.",
    responses=problems(404),
)
async def read_election(
    session: SessionDep,
    _: PrincipalDep,
    code: Annotated[str, Path(max_length=64, examples=["pemilu-2024"])],
) -> ElectionRead:
    return await service.read_election(session, code)


@router.post(
    "/elections",
    status_code=201,
    response_model=ElectionRead,
    summary="Add an election (operators)",
    description=(
        "Operators only (an operator organization's key or the admin scope; others get 403 "
        "`operator_only`). `age_limits` lists the roles whose limits on voting day differ "
        "from the role defaults. A taken code gives 409 `election_exists`, an unknown role "
        "422 `role_not_found`. Send `Idempotency-Key` to repeat the request safely."
    ),
    responses=problems(403, 409, 415),
)
async def create_election(
    request: Request,
    data: ElectionCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        election = await service.create_election(session, principal, data=data)
        return json_response(election, 201, headers={"Location": f"/v1/elections/{data.code}"})

    return await idempotent(session, principal, request, idempotency_key, create)


@router.get(
    "/benefit-schedules",
    response_model=BenefitSchedulesInForce,
    summary="Benefit lines in force on a day",
    description=(
        "The JKK and JKM benefit lines of the regulation in force on `on` (default: today in "
        "Asia/Jakarta), with their legal basis and effective dates; `program` narrows to one "
        "program. Before 2019-12-02 (PP 82/2019) the list is empty: earlier regulations are "
        "not loaded. One page: `next_cursor` is always null."
    ),
    responses=problems(),
)
async def list_benefit_schedules(
    session: SessionDep,
    _: PrincipalDep,
    on: Annotated[
        date | None, Query(description="YYYY-MM-DD; default today", examples=["2024-11-27"])
    ] = None,
    program: Annotated[Program | None, Query(description="JKK or JKM")] = None,
) -> BenefitSchedulesInForce:
    day = on or today()
    schedules = await service.schedules_in_force(session, day, program)
    return BenefitSchedulesInForce(
        on=day, items=[BenefitScheduleRead.model_validate(s) for s in schedules]
    )
