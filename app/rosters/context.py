"""What a batch knows before its first row: the agreement's cohorts, the roles, the regions, today.

The role and region tables and the role labels are reference data fixed by migrations: read
once per process.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.errors import NotFound
from app.models import RoleLabel
from app.reference import service as reference
from app.rosters.parsing import RoleVocabulary
from app.rosters.regions import build_region_index
from app.rosters.repository import lookups
from app.rosters.validation import CohortInfo, RosterContext


async def load_context(
    session: AsyncSession, agreement_id: uuid.UUID, as_of: date
) -> RosterContext:
    agreement = await lookups.get_agreement(session, agreement_id)
    if agreement is None:
        raise NotFound("No such agreement", code="agreement_not_found")
    by_role: dict[str, list[CohortInfo]] = {}
    for row in await lookups.cohorts_of(session, agreement_id):
        by_role.setdefault(row.role_code, []).append(
            CohortInfo(
                id=row.id,
                role_code=row.role_code,
                coverage_start=row.coverage_start,
                coverage_end=row.coverage_end,
                voting_day=row.voting_day,
                min_age=row.min_age,
                max_age=row.max_age,
            )
        )
    return RosterContext(
        agreement_region=agreement.region_code,
        cohorts_by_role=by_role,
        role_levels=await reference.role_levels(session),
        regions=await _region_index(session, agreement.region_code),
        today=clock.today(),
        as_of=as_of,
        roles=await role_vocabulary(session),
    )


_VOCABULARY: list[RoleVocabulary] = []


async def role_vocabulary(session: AsyncSession) -> RoleVocabulary:
    """The role catalog's codes and JABATAN labels, as the parser reads them."""
    if not _VOCABULARY:
        _VOCABULARY.append(vocabulary_of(await reference.role_labels(session)))
    return _VOCABULARY[0]


def vocabulary_of(catalog: Mapping[str, Sequence[RoleLabel]]) -> RoleVocabulary:
    """From reference.role_labels: each role code with its labels."""
    labels = [
        (label.label, label.role_code, label.position, label.read_as)
        for role_labels in catalog.values()
        for label in role_labels
    ]
    return RoleVocabulary(catalog, labels)


_REGION_ROWS: list[tuple[str, str, str]] = []
_REGION_INDEXES: dict[str, Any] = {}


async def _region_index(session: AsyncSession, region_code: str) -> Any:
    if not _REGION_ROWS:
        _REGION_ROWS.extend(await reference.region_rows(session))
    index = _REGION_INDEXES.get(region_code)
    if index is None:
        if len(_REGION_INDEXES) >= 64:
            _REGION_INDEXES.clear()
        index = _REGION_INDEXES[region_code] = await to_thread.run_sync(
            build_region_index, _REGION_ROWS, region_code
        )
    return index
