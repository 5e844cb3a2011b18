"""SQL of the coverage domain: the coverage lookups and the access log."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.models import AccessLogEntry

# The lookups go to asyncpg directly: its statement cache prepares each text once per
# connection, and the rows come back as Records without a trip through the ORM or Core.
# Column order is what service.answer reads by index. A caller without pii:read gets the
# statements without the personal columns: what it may not see never leaves the database.
# `party`: whether the caller ($2) is party to the registration's agreement (access.py).
_SELECT = f"""
SELECT r.nik, r.id, r.role_code, r.position, c.election_code, a.number, b.name, a.programs,
       r.coverage_start, r.coverage_end, r.ended_on, r.status, {{personal}},
       coalesce({access.party_sql("a", "$2::uuid")}, false) AS party
FROM registrations r
JOIN agreements a ON a.id = r.agreement_id
JOIN cohorts c ON c.id = r.cohort_id
JOIN organizations b ON b.id = a.bpjs_branch_id
"""
_PERSONAL = "r.kpj, r.full_name, r.birth_date"
_WITHHELD = "NULL::text AS kpj, NULL::text AS full_name, NULL::date AS birth_date"
_OF_NIK = """
WHERE r.nik = $1 AND r.status <> 'rejected'
ORDER BY r.coverage_start, r.id
"""
_OF_NIKS = """
WHERE r.nik = ANY($1::bigint[]) AND r.status <> 'rejected'
ORDER BY r.nik, r.coverage_start, r.id
"""
COVERAGE_OF_NIK = _SELECT.format(personal=_PERSONAL) + _OF_NIK
COVERAGE_OF_NIK_WITHHELD = _SELECT.format(personal=_WITHHELD) + _OF_NIK
COVERAGE_OF_NIKS = _SELECT.format(personal=_PERSONAL) + _OF_NIKS
COVERAGE_OF_NIKS_WITHHELD = _SELECT.format(personal=_WITHHELD) + _OF_NIKS


async def coverage_of_nik(
    connection: Any, nik: int, organization_id: uuid.UUID | None, *, personal: bool
) -> list[Any]:
    sql = COVERAGE_OF_NIK if personal else COVERAGE_OF_NIK_WITHHELD
    return list(await connection.fetch(sql, nik, organization_id))


async def coverage_of_niks(
    connection: Any, niks: Sequence[int], organization_id: uuid.UUID | None, *, personal: bool
) -> list[Any]:
    """Every registration of all `niks`, in one round trip, ordered by NIK."""
    sql = COVERAGE_OF_NIKS if personal else COVERAGE_OF_NIKS_WITHHELD
    return list(await connection.fetch(sql, niks, organization_id))


def access_log_query(
    *,
    nik: int | None,
    organization_id: uuid.UUID | None,
    api_key_id: uuid.UUID | None,
    before_id: int | None,
    since: date | None,
) -> Select[Any]:
    stmt = select(AccessLogEntry)
    if nik is not None:
        stmt = stmt.where(AccessLogEntry.nik == nik)
    if organization_id is not None:
        stmt = stmt.where(AccessLogEntry.organization_id == organization_id)
    if api_key_id is not None:
        stmt = stmt.where(AccessLogEntry.api_key_id == api_key_id)
    if before_id is not None:
        stmt = stmt.where(AccessLogEntry.id < before_id)
    if since is not None:
        stmt = stmt.where(AccessLogEntry.at >= since)
    return stmt.order_by(AccessLogEntry.id.desc())


async def access_log_entries(session: AsyncSession, stmt: Select[Any]) -> list[AccessLogEntry]:
    return list((await session.execute(stmt)).scalars())
