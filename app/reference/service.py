"""Reference data every domain checks against: regions, roles, elections, age limits, benefits.

The functions without a leading underscore and without `list_`/`create_` are the API other
domains call (`get_region`, `find_region`, `normalize_region_code`, `region_contains`,
`get_election`, `find_election`, `elections_by_code`, `get_role`, `roles_by_code`,
`age_limits`, `schedules_in_force`, `known_district_codes`). The `get_` ones answer 404 for an
unknown code; the others give None or leave the code out, for the caller to say what it means.
"""

import re
from collections import defaultdict
from collections.abc import Collection
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.auth import Principal
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.pagination import keyset_page
from app.models import BenefitSchedule, Election, Region, Role, RoleLabel
from app.reference import repository
from app.reference.schemas import (
    ElectionAgeLimit,
    ElectionCreate,
    ElectionRead,
    RoleAgeLimit,
    RoleRead,
)

# ASCII digits only: `\d` would also take Arabic-Indic and other Unicode digits.
_DOTTED = re.compile(r"[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{4})?)?)?")
_UNDOTTED = re.compile(r"[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{4})?)?)?")
_SEGMENTS = ((0, 2), (2, 4), (4, 6), (6, 10))

_district_codes: frozenset[str] | None = None


# Regions


def normalize_region_code(code: str) -> str:
    """The dotted form of a region code given dotted (`16.12.01.2001`) or not (`1612012001`)."""
    text = code.strip()
    if _DOTTED.fullmatch(text):
        return text
    if _UNDOTTED.fullmatch(text):
        return ".".join(text[start:end] for start, end in _SEGMENTS if start < len(text))
    raise Unprocessable(
        "A region code is 2, 4, 6 or 10 digits, dotted (16.12.01.2001) or not (1612012001)",
        code="invalid_region_code",
    )


def region_path_codes(code: str) -> list[str]:
    """The codes from the province down to `code` (dotted): 16, 16.12, 16.12.01, ..."""
    parts = code.split(".")
    return [".".join(parts[: depth + 1]) for depth in range(len(parts))]


async def get_region(session: AsyncSession, code: str) -> Region:
    """The region of a dotted or undotted code; 422 when malformed, 404 when unknown."""
    dotted = normalize_region_code(code)
    regions = await repository.regions_by_code(session, [dotted])
    if not regions:
        raise NotFound(f"No region has the code {dotted}", code="region_not_found")
    return regions[0]


async def find_region(session: AsyncSession, code: str) -> Region | None:
    """The region of exactly this (dotted) code, or None."""
    return await repository.region(session, code)


async def get_region_with_path(session: AsyncSession, code: str) -> tuple[Region, list[Region]]:
    """The region and its path, province first and the region itself last (one query)."""
    dotted = normalize_region_code(code)
    path = await repository.regions_by_code(session, region_path_codes(dotted))
    if not path or path[-1].code != dotted:
        raise NotFound(f"No region has the code {dotted}", code="region_not_found")
    return path[-1], path


async def region_contains(session: AsyncSession, outer: str, inner: str) -> bool:
    """Whether `inner` lies in `outer` (or is it), by code prefix; neither needs to exist."""
    outer_code, inner_code = normalize_region_code(outer), normalize_region_code(inner)
    return inner_code == outer_code or inner_code.startswith(outer_code + ".")


async def known_district_codes(session: AsyncSession) -> frozenset[str]:
    """Dotted codes of today's 7,285 districts, loaded once per process (the table is static)."""
    global _district_codes
    if _district_codes is None:
        _district_codes = frozenset(await repository.district_codes(session))
    return _district_codes


async def list_regions(
    session: AsyncSession,
    *,
    parent: str | None,
    level: str | None,
    q: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Region], str | None]:
    """A page of regions in code order; an unknown (well-formed) parent gives an empty page."""
    parent_code = normalize_region_code(parent) if parent is not None else None
    search = q.strip() if q is not None else None
    stmt = repository.regions_query(parent=parent_code, level=level, q=search or None)
    rows, next_cursor = await keyset_page(
        session, stmt, keys=[Region.code], limit=limit, cursor=cursor
    )
    return [row[0] for row in rows], next_cursor


# Roles and age limits


async def get_role(session: AsyncSession, code: str) -> Role:
    role = await repository.role(session, code)
    if role is None:
        raise NotFound(f"No role has the code {code}", code="role_not_found")
    return role


async def roles_by_code(session: AsyncSession, codes: Collection[str]) -> dict[str, Role]:
    """The roles among `codes`, by code; unknown codes are left out."""
    return await repository.roles_by_code(session, codes)


async def list_roles(session: AsyncSession) -> list[RoleRead]:
    """Every role with its per-election age limits (two queries: the catalog is small)."""
    roles = await repository.all_roles(session)
    limits: dict[str, list[ElectionAgeLimit]] = defaultdict(list)
    for limit in await repository.all_age_limits(session):
        limits[limit.role_code].append(
            ElectionAgeLimit(
                election=limit.election_code, min_age=limit.min_age, max_age=limit.max_age
            )
        )
    return [
        RoleRead.model_validate(role).model_copy(update={"age_limits": limits[role.code]})
        for role in roles
    ]


async def age_limits(
    session: AsyncSession, election_code: str, role_code: str
) -> tuple[int, int | None]:
    """(min_age, max_age) on voting day: the election's own limits for the role, else the role's.

    max_age None means no maximum. Unknown election or role: NotFound.
    """
    limits = await repository.effective_age_limits(
        session, election_code=election_code, role_code=role_code
    )
    if limits is None:
        # The query finds a row whenever both exist: say which one is missing.
        await get_election(session, election_code)
        await get_role(session, role_code)
        raise NotFound("No such election or role", code="role_not_found")
    return limits


# Elections


async def get_election(session: AsyncSession, code: str) -> Election:
    election = await repository.election(session, code)
    if election is None:
        raise NotFound(f"No election has the code {code}", code="election_not_found")
    return election


async def find_election(session: AsyncSession, code: str) -> Election | None:
    return await repository.election(session, code)


async def elections_by_code(session: AsyncSession, codes: Collection[str]) -> dict[str, Election]:
    """The elections among `codes`, by code; unknown codes are left out."""
    return await repository.elections_by_code(session, codes)


async def _with_age_limits(session: AsyncSession, elections: list[Election]) -> list[ElectionRead]:
    limits: dict[str, list[RoleAgeLimit]] = defaultdict(list)
    for limit in await repository.age_limits_of_elections(session, [e.code for e in elections]):
        limits[limit.election_code].append(
            RoleAgeLimit(role=limit.role_code, min_age=limit.min_age, max_age=limit.max_age)
        )
    return [
        ElectionRead(
            code=election.code,
            name=election.name,
            voting_day=election.voting_day,
            age_limits=limits[election.code],
        )
        for election in elections
    ]


async def read_election(session: AsyncSession, code: str) -> ElectionRead:
    election = await get_election(session, code)
    return (await _with_age_limits(session, [election]))[0]


async def list_elections(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[ElectionRead], str | None]:
    rows, next_cursor = await keyset_page(
        session, repository.elections_query(), keys=[Election.code], limit=limit, cursor=cursor
    )
    return await _with_age_limits(session, [row[0] for row in rows]), next_cursor


async def create_election(
    session: AsyncSession, principal: Principal, *, data: ElectionCreate
) -> ElectionRead:
    """Add an election (operators only) with the age limits that differ from the roles'."""
    if not principal.is_operator:
        raise Forbidden("Only operators may add elections", code="operator_only")
    wanted = [limit.role for limit in data.age_limits]
    unknown = sorted(set(wanted) - await repository.existing_role_codes(session, wanted))
    if unknown:
        raise Unprocessable(
            f"Unknown role: {', '.join(unknown)}",
            code="role_not_found",
            errors=[
                {
                    "loc": ["body", "age_limits", str(index), "role"],
                    "code": "role_not_found",
                    "msg": f"No role has the code {role}",
                }
                for index, role in enumerate(wanted)
                if role in unknown
            ],
        )
    created = await repository.insert_election(
        session, code=data.code, name=data.name, voting_day=data.voting_day
    )
    if not created:
        raise Conflict(f"An election with the code {data.code} exists", code="election_exists")
    await repository.insert_age_limits(
        session,
        election_code=data.code,
        limits=[(limit.role, limit.min_age, limit.max_age) for limit in data.age_limits],
    )
    audit.record(
        session,
        principal,
        action="election.create",
        entity_type="election",
        entity_id=data.code,
        detail={"voting_day": data.voting_day.isoformat(), "age_limits": len(data.age_limits)},
    )
    return ElectionRead(
        code=data.code,
        name=data.name,
        voting_day=data.voting_day,
        age_limits=sorted(data.age_limits, key=lambda limit: limit.role),
    )


# Benefit schedules


async def schedules_in_force(
    session: AsyncSession, on: date, program: str | None = None
) -> list[BenefitSchedule]:
    """The benefit lines in force on `on` (of one program, or both), in regulation order."""
    return await repository.schedules_in_force(session, on=on, program=program)


async def region_rows(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Every region as (code, name, level), for the rosters' index of names and codes."""
    return await repository.region_rows(session)


async def role_levels(session: AsyncSession) -> dict[str, str]:
    """Each role's code with its level (kecamatan, desa/kelurahan, TPS, any)."""
    return {role.code: role.level for role in await repository.all_roles(session)}


# Role labels


async def role_labels(session: AsyncSession) -> dict[str, list[RoleLabel]]:
    """Every role's code with the words rosters write for it in a JABATAN (migration 0009),
    roles without any included."""
    labels: dict[str, list[RoleLabel]] = {
        role.code: [] for role in await repository.all_roles(session)
    }
    for label in await repository.role_labels(session):
        labels[label.role_code].append(label)
    return labels
