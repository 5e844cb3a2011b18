"""SQL of the coverage domain: the coverage lookups, the access log and KPJ numbers."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.access import PartyRole
from app.core.auth import Principal
from app.models import AccessLogEntry, Agreement, Registration

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


async def registration_agreement(
    session: AsyncSession, registration_id: int, principal: Principal
) -> Agreement | None:
    """The agreement of a registration, when the caller sees it."""
    agreement: Agreement | None = await session.scalar(
        select(Agreement)
        .join(Registration, Registration.agreement_id == Agreement.id)
        .where(Registration.id == registration_id, access.readable(principal))
    )
    return agreement


async def set_kpj(session: AsyncSession, registration_id: int, kpj: str | None) -> Row[Any]:
    result = await session.execute(
        update(Registration)
        .where(Registration.id == registration_id)
        .values(kpj=kpj, updated_at=func.now())
        .returning(
            Registration.id, Registration.agreement_id, Registration.kpj, Registration.updated_at
        )
    )
    return result.one()


# One statement for a whole list of (nik, kpj): which registrations each item reaches among
# the caller's agreements, whether its KPJ already belongs to another NIK, and the update of
# the others. Items reach the statement with distinct NIKs and distinct KPJs (service.py).
SET_KPJS = f"""
WITH input AS (
    SELECT i.ord, i.nik, i.kpj
    FROM unnest(CAST(:niks AS bigint[]), CAST(:kpjs AS text[])) WITH ORDINALITY AS i(nik, kpj, ord)
),
reached AS (
    SELECT r.id, i.ord, i.kpj, r.kpj AS old_kpj
    FROM input i
    JOIN registrations r ON r.nik = i.nik
    JOIN agreements a ON a.id = r.agreement_id
    WHERE CAST(:branch AS uuid) IS NULL
       OR {access.party_sql("a", "CAST(:branch AS uuid)", [PartyRole.BPJS_BRANCH])}
),
taken AS (
    SELECT DISTINCT i.ord
    FROM input i
    JOIN registrations other ON other.kpj = i.kpj AND other.nik <> i.nik
),
changed AS (
    UPDATE registrations r
    SET kpj = t.kpj, updated_at = now()
    FROM reached t
    WHERE r.id = t.id
      AND t.old_kpj IS DISTINCT FROM t.kpj
      AND NOT EXISTS (SELECT 1 FROM taken WHERE taken.ord = t.ord)
    RETURNING r.id
)
SELECT i.ord,
       count(t.id) AS reached,
       bool_or(k.ord IS NOT NULL) AS taken,
       coalesce(array_agg(c.id) FILTER (WHERE c.id IS NOT NULL), '{{}}') AS changed
FROM input i
LEFT JOIN reached t ON t.ord = i.ord
LEFT JOIN taken k ON k.ord = i.ord
LEFT JOIN changed c ON c.id = t.id
GROUP BY i.ord
ORDER BY i.ord
"""


async def set_kpjs(
    session: AsyncSession,
    niks: Sequence[int],
    kpjs: Sequence[str],
    branch_id: uuid.UUID | None,
) -> list[Row[Any]]:
    """Per item, in order: (ord, registrations reached, kpj taken, ids changed)."""
    result = await session.execute(
        text(SET_KPJS), {"niks": list(niks), "kpjs": list(kpjs), "branch": branch_id}
    )
    return list(result.all())
