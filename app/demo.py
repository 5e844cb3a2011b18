"""Demo data for `make run`: seeding the agreements of app/demo_data.py, their parties and keys.

Loaded once: the operator, and then the agreements with their officers, are each seeded only
when absent. The officers (67,268, each cohort at 95% of its planned headcount) are synthetic:
see app/demo_officers.py.
"""

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import cohorts
from app.agreements import service as agreements
from app.agreements.schemas import AgreementCreate, AgreementRead
from app.core.auth import ADMIN_PRINCIPAL
from app.core.settings import get_settings
from app.demo_data import (
    DEMO_AGREEMENTS,
    DEMO_KEYS,
    DEMO_ORGANIZATIONS,
    PILKADA,
)
from app.demo_officers import Area, CohortPlan, OfficerFactory, ndjson
from app.models import Agreement, Organization, OrganizationKind, Region
from app.organizations.schemas import ApiKeyCreate, OrganizationCreate
from app.organizations.service import create_organization, issue_api_key
from app.reference import service as reference
from app.rosters import service as rosters_service
from app.rosters.options import RosterParams
from app.rosters.repository import lookups as rosters_lookups

DEMO_KEYS_FILE = "demo-keys.json"
OPERATOR_NAME = "Perisai Operator (demo)"
OFFICERS_SEED = 2024
# Each cohort is filled to this share of its plan, so that a first push has room under it.
ENROLLED_PERCENT = 95
NDJSON = "application/x-ndjson"


async def seed_demo(
    session: AsyncSession, *, data_dir: Path, officers_scale: float = 1.0
) -> list[str]:
    """Load the demo data unless present; return lines naming the demo keys.

    `officers_scale` registers that share of each cohort's planned headcount (tests use less).
    """
    keys_file = data_dir / DEMO_KEYS_FILE
    new_keys: dict[str, str] = {}
    operator = await session.scalar(
        select(Organization.id).where(Organization.name == OPERATOR_NAME)
    )
    if operator is None:
        new_keys |= await _seed_operator(session)
    present = await session.scalar(
        select(Agreement.id).where(Agreement.number == DEMO_AGREEMENTS[0].number)
    )
    if present is None:
        new_keys |= await _seed_agreements(session, officers_scale)
    if new_keys:
        _write_keys(keys_file, (_read_keys(keys_file) or {}) | new_keys)
    keys = _read_keys(keys_file)
    if keys is None:
        return ["Demo data present, but its keys file is gone: use `python -m app create-api-key`."]
    return [f"demo key ({label}): {token}" for label, token in keys.items()]


async def _seed_operator(session: AsyncSession) -> dict[str, str]:
    operator = await create_organization(
        session,
        ADMIN_PRINCIPAL,
        data=OrganizationCreate(
            kind=OrganizationKind.OPERATOR, name=OPERATOR_NAME, region_code="31"
        ),
    )
    _, token = await issue_api_key(
        session,
        ADMIN_PRINCIPAL,
        organization_id=operator.id,
        data=ApiKeyCreate(name="demo operator", scopes=["admin"]),
    )
    return {"operator, admin scope": token}


async def _seed_agreements(session: AsyncSession, officers_scale: float) -> dict[str, str]:
    organizations: dict[str, Organization] = {}
    for key, (kind, name, region) in DEMO_ORGANIZATIONS.items():
        organizations[key] = await create_organization(
            session,
            ADMIN_PRINCIPAL,
            data=OrganizationCreate(kind=kind, name=name, region_code=region),
        )
    seeded: list[AgreementRead] = []
    for demo in DEMO_AGREEMENTS:
        created = await agreements.create_agreement(
            session,
            ADMIN_PRINCIPAL,
            data=AgreementCreate(
                number=demo.number,
                bpjs_branch_id=organizations[demo.branch].id,
                counterpart_id=organizations[demo.counterpart].id,
                payer_id=organizations[demo.payer].id if demo.payer else None,
                election=PILKADA,
                region_code=demo.region_code,
                signed_on=demo.signed_on,
                signed_place=demo.signed_place,
                cohorts=[cohort.create() for cohort in demo.cohorts],
            ),
        )
        await agreements.transition(
            session, ADMIN_PRINCIPAL, agreement_id=created.id, action="activate"
        )
        for cohort in demo.added_later:
            await cohorts.add_cohort(
                session, ADMIN_PRINCIPAL, agreement_id=created.id, data=cohort.create()
            )
        seeded.append(
            await agreements.read_agreement(session, ADMIN_PRINCIPAL, agreement_id=created.id)
        )
    await register_demo_officers(session, seeded, scale=officers_scale)

    keys: dict[str, str] = {}
    for label, (organization_key, scopes) in DEMO_KEYS.items():
        organization = organizations[organization_key]
        _, token = await issue_api_key(
            session,
            ADMIN_PRINCIPAL,
            organization_id=organization.id,
            data=ApiKeyCreate.model_validate({"name": f"demo {label}", "scopes": scopes}),
        )
        keys[f"{label}, {organization.name}"] = token
    return keys


async def register_demo_officers(
    session: AsyncSession, agreements: Sequence[AgreementRead], *, scale: float = 1.0
) -> None:
    """Register synthetic officers in each demo cohort, up to ENROLLED_PERCENT of its plan.

    One roster per agreement goes through the roster service as an operator's push (applied
    in this transaction, however large). `scale` shrinks every cohort for tests (0.01: 1%).
    """
    factory = OfficerFactory(OFFICERS_SEED)
    levels = await reference.role_levels(session)
    for agreement in agreements:
        plans = await _cohort_plans(session, agreement, levels, scale)
        rows = factory.roster(await _area(session, agreement.region_code), plans)
        if rows:
            await _push_roster(session, agreement, ndjson(rows), len(rows))


async def _cohort_plans(
    session: AsyncSession, agreement: AgreementRead, levels: dict[str, str], scale: float
) -> list[CohortPlan]:
    """The agreement's cohorts with their voting day and age limits, as the roster checks them."""
    limits = {row.id: row for row in await rosters_lookups.cohorts_of(session, agreement.id)}
    return [
        CohortPlan(
            role=cohort.role,
            level=levels[cohort.role],
            headcount=round(cohort.planned_headcount * ENROLLED_PERCENT // 100 * scale),
            coverage_start=cohort.coverage_start,
            coverage_end=cohort.coverage_end,
            voting_day=limits[cohort.id].voting_day,
            min_age=limits[cohort.id].min_age,
            max_age=limits[cohort.id].max_age,
        )
        for cohort in agreement.cohorts
    ]


async def _area(session: AsyncSession, region_code: str) -> Area:
    rows = await session.execute(
        select(Region.code, Region.level)
        .where(
            Region.code.startswith(f"{region_code}.", autoescape=True),
            Region.level.in_(("district", "village")),
        )
        .order_by(Region.code)
    )
    codes: dict[str, list[str]] = {"district": [], "village": []}
    for code, level in rows:
        codes[level].append(code)
    return Area(tuple(codes["district"]), tuple(codes["village"]))


async def _push_roster(
    session: AsyncSession, agreement: AgreementRead, body: bytes, rows: int
) -> None:
    # Above the limit the service would answer 202 and leave the batch to a background task.
    settings = get_settings().model_copy(update={"sync_roster_max_rows": rows})
    pushed = await rosters_service.push_roster(
        session,
        ADMIN_PRINCIPAL,
        agreement_id=agreement.id,
        body=_chunks(body),
        params=RosterParams(NDJSON, None, True, None, None, None),
        settings=settings,
        launch=_no_background,
    )
    counts = pushed.batch.counts
    if pushed.status_code != 201 or counts.get("created") != rows:
        raise RuntimeError(f"The demo roster of {agreement.number} did not land whole: {counts}")


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _no_background(job: object, upload: object, principal: object) -> None:
    raise RuntimeError("A demo roster is registered in the demo's own transaction")


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2))


def _read_keys(path: Path) -> dict[str, str] | None:
    return dict(json.loads(path.read_text())) if path.exists() else None
