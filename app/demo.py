"""Demo data for `make run`: the five reported agreements of late 2024, their parties and keys.

Loaded once: the operator, and then the agreements with their officers, are each seeded only
when absent. The press gives some cohorts as one total; the splits below are ours (see
DEMO_AGREEMENTS). Agreement numbers are invented (DEMO/...), and so are signing dates where the
press gives none. The officers (about 70,800, every cohort at its planned headcount) are
synthetic: see app/demo_officers.py.
"""

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import cohorts
from app.agreements import service as agreements
from app.agreements.schemas import AgreementCreate, AgreementRead, CohortCreate
from app.core.auth import ADMIN_PRINCIPAL
from app.core.settings import get_settings
from app.demo_officers import Area, CohortPlan, OfficerFactory, ndjson
from app.models import Agreement, Organization, OrganizationKind, Region
from app.organizations.schemas import ApiKeyCreate, OrganizationCreate
from app.organizations.service import create_organization, issue_api_key
from app.rosters import repository as rosters_repository
from app.rosters import service as rosters_service
from app.rosters.upload import HEAD_BYTES, Upload

DEMO_KEYS_FILE = "demo-keys.json"
OPERATOR_NAME = "Perisai Operator (demo)"
OFFICERS_SEED = 2024
NDJSON = "application/x-ndjson"

# key -> (kind, name, region)
DEMO_ORGANIZATIONS: dict[str, tuple[OrganizationKind, str, str]] = {
    "bpjs_kisaran": (OrganizationKind.BPJS_BRANCH, "BPJS Ketenagakerjaan Cabang Kisaran", "12.09"),
    "bpjs_muara_enim": (
        OrganizationKind.BPJS_BRANCH,
        "BPJS Ketenagakerjaan Cabang Muara Enim",
        "16.03",
    ),
    "bpjs_maluku": (OrganizationKind.BPJS_BRANCH, "BPJS Ketenagakerjaan Cabang Maluku", "81"),
    "bpjs_bengkulu": (
        OrganizationKind.BPJS_BRANCH,
        "BPJS Ketenagakerjaan Perwakilan Bengkulu",
        "17",
    ),
    "kpu_asahan": (OrganizationKind.KPU, "KPU Kabupaten Asahan", "12.09"),
    "bawaslu_asahan": (OrganizationKind.BAWASLU, "Bawaslu Kabupaten Asahan", "12.09"),
    "bawaslu_pali": (
        OrganizationKind.BAWASLU,
        "Bawaslu Kabupaten Penukal Abab Lematang Ilir",
        "16.12",
    ),
    "kpu_muara_enim": (OrganizationKind.KPU, "KPU Kabupaten Muara Enim", "16.03"),
    "bawaslu_muara_enim": (OrganizationKind.BAWASLU, "Bawaslu Kabupaten Muara Enim", "16.03"),
    "pemkab_muara_enim": (
        OrganizationKind.GOVERNMENT,
        "Pemerintah Kabupaten Muara Enim",
        "16.03",
    ),
    "bawaslu_ambon": (OrganizationKind.BAWASLU, "Bawaslu Kota Ambon", "81.71"),
    "kpu_bengkulu": (OrganizationKind.KPU, "KPU Provinsi Bengkulu", "17"),
    "bawaslu_bengkulu": (OrganizationKind.BAWASLU, "Bawaslu Provinsi Bengkulu", "17"),
    "pemprov_bengkulu": (OrganizationKind.GOVERNMENT, "Pemerintah Provinsi Bengkulu", "17"),
    "integrator": (OrganizationKind.INTEGRATOR, "RSUD Kisaran (demo integrator)", "12.09"),
}

# One key per organization kind: (organization, scopes).
DEMO_KEYS: dict[str, tuple[str, list[str]]] = {
    "bpjs_branch": (
        "bpjs_kisaran",
        [
            "agreements:write",
            "agreements:read",
            "registrations:read",
            "coverage:read",
            "pii:read",
            "claims:write",
            "claims:review",
            "reports:read",
        ],
    ),
    "kpu": (
        "kpu_asahan",
        [
            "agreements:read",
            "rosters:write",
            "registrations:read",
            "pii:read",
            "claims:write",
            "reports:read",
        ],
    ),
    "bawaslu": (
        "bawaslu_asahan",
        [
            "agreements:read",
            "rosters:write",
            "registrations:read",
            "pii:read",
            "claims:write",
            "reports:read",
        ],
    ),
    # The payer records payments (agreements:write) and may file claims for the officers it pays.
    "government": (
        "pemkab_muara_enim",
        [
            "agreements:read",
            "agreements:write",
            "registrations:read",
            "claims:write",
            "reports:read",
        ],
    ),
    "integrator": ("integrator", ["coverage:read"]),
}

PEMILU = "pemilu-2024"
PILKADA = "pilkada-2024"
PEMILU_ADHOC = (date(2023, 11, 1), date(2024, 2, 29))  # Nov 2023 - Feb 2024
PILKADA_ADHOC = (date(2024, 11, 1), date(2024, 12, 31))  # Nov - Dec 2024


@dataclass(frozen=True)
class DemoCohort:
    role: str
    headcount: int
    period: tuple[date, date] = PILKADA_ADHOC
    election: str | None = None  # default: the agreement's (Pilkada 2024)

    def create(self) -> CohortCreate:
        return CohortCreate(
            role=self.role,
            planned_headcount=self.headcount,
            coverage_start=self.period[0],
            coverage_end=self.period[1],
            election=self.election,
        )


@dataclass(frozen=True)
class DemoAgreement:
    number: str
    branch: str
    counterpart: str
    region_code: str
    signed_on: date
    cohorts: tuple[DemoCohort, ...]
    payer: str | None = None
    signed_place: str | None = None
    # cohorts added once the agreement is active (PALI's PTPS, after their inauguration)
    added_later: tuple[DemoCohort, ...] = field(default_factory=tuple)


ASAHAN_SIGNED_ON = date(2024, 11, 11)
ASAHAN_SIGNED_PLACE = "Aula Kejaksaan Negeri Asahan"

# Splits of press totals (ours): Asahan has 25 kecamatan and 204 desa/kelurahan, so 1,424 =
# PPK 5x25 + Sekretariat PPK 3x25 + PPS 3x204 + Sekretariat PPS 3x204, and Bawaslu's 275 =
# Panwascam 3x25 + technical staff 6x25 + support 2x25. PALI (5 kecamatan, 71 desa): 124 =
# Panwascam 15 + secretariat 38 + PKD 71. Muara Enim (22 kecamatan, 256 desa, 1,789 TPS taken):
# KPU 110 + 768 + 12,523 = 13,401 ("about 13,400"); Bawaslu 66 + 63 + 256 + 1,789 = 2,174.
# Ambon (5 kecamatan, 50 desa): 15 + 5 + 50 + 20 + 769 PTPS = 859. Bengkulu (129 kecamatan,
# 1,513 desa, 3,900 TPS taken): sizes from those counts; the press gives none.
DEMO_AGREEMENTS: tuple[DemoAgreement, ...] = (
    DemoAgreement(
        number="DEMO/PKS/KSR/KPU-ASAHAN/XI/2024",
        branch="bpjs_kisaran",
        counterpart="kpu_asahan",
        region_code="12.09",
        signed_on=ASAHAN_SIGNED_ON,
        signed_place=ASAHAN_SIGNED_PLACE,
        cohorts=(
            DemoCohort("PPK", 125, PEMILU_ADHOC, PEMILU),
            DemoCohort("SEKRETARIAT_PPK", 75, PEMILU_ADHOC, PEMILU),
            DemoCohort("PPS", 612, PEMILU_ADHOC, PEMILU),
            DemoCohort("SEKRETARIAT_PPS", 612, PEMILU_ADHOC, PEMILU),
            DemoCohort("KPPS", 12_465),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/KSR/BAWASLU-ASAHAN/XI/2024",
        branch="bpjs_kisaran",
        counterpart="bawaslu_asahan",
        region_code="12.09",
        signed_on=ASAHAN_SIGNED_ON,
        signed_place=ASAHAN_SIGNED_PLACE,
        cohorts=(
            DemoCohort("PANWASCAM", 75, PEMILU_ADHOC, PEMILU),
            DemoCohort("SEKRETARIAT_PANWASCAM", 150, PEMILU_ADHOC, PEMILU),
            DemoCohort("TENAGA_PENDUKUNG", 50, PEMILU_ADHOC, PEMILU),
            DemoCohort("PKD", 204, (date(2023, 11, 1), date(2024, 1, 31)), PEMILU),
            DemoCohort("PTPS", 1_385),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/MRE/BAWASLU-PALI/X/2024",
        branch="bpjs_muara_enim",
        counterpart="bawaslu_pali",
        region_code="16.12",
        signed_on=date(2024, 10, 28),  # the reported meeting
        cohorts=(
            DemoCohort("PANWASCAM", 15),
            DemoCohort("SEKRETARIAT_PANWASCAM", 38),
            DemoCohort("PKD", 71),
        ),
        added_later=(DemoCohort("PTPS", 229, (date(2024, 11, 15), date(2024, 12, 31))),),
    ),
    DemoAgreement(
        number="DEMO/PKS/MRE/KPU-MUARA-ENIM/2024",
        branch="bpjs_muara_enim",
        counterpart="kpu_muara_enim",
        payer="pemkab_muara_enim",
        region_code="16.03",
        signed_on=date(2024, 10, 30),
        cohorts=(DemoCohort("PPK", 110), DemoCohort("PPS", 768), DemoCohort("KPPS", 12_523)),
    ),
    DemoAgreement(
        number="DEMO/PKS/MRE/BAWASLU-MUARA-ENIM/2024",
        branch="bpjs_muara_enim",
        counterpart="bawaslu_muara_enim",
        payer="pemkab_muara_enim",
        region_code="16.03",
        signed_on=date(2024, 10, 30),
        cohorts=(
            DemoCohort("PANWASCAM", 66),
            DemoCohort("SEKRETARIAT_PANWASCAM", 63),
            DemoCohort("PKD", 256),
            DemoCohort("PTPS", 1_789),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/AMQ/BAWASLU-AMBON/2024",
        branch="bpjs_maluku",
        counterpart="bawaslu_ambon",
        region_code="81.71",
        signed_on=date(2024, 10, 31),
        cohorts=(
            DemoCohort("PANWASCAM", 15),
            DemoCohort("KASEKCAM", 5),
            DemoCohort("PKD", 50),
            DemoCohort("TENAGA_PENDUKUNG", 20),
            DemoCohort("PTPS", 769),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/BKL/KPU-BENGKULU/2024",
        branch="bpjs_bengkulu",
        counterpart="kpu_bengkulu",
        payer="pemprov_bengkulu",
        region_code="17",
        signed_on=date(2024, 10, 31),
        cohorts=(DemoCohort("PPK", 645), DemoCohort("PPS", 4_539), DemoCohort("KPPS", 27_300)),
    ),
    DemoAgreement(
        number="DEMO/PKS/BKL/BAWASLU-BENGKULU/2024",
        branch="bpjs_bengkulu",
        counterpart="bawaslu_bengkulu",
        payer="pemprov_bengkulu",
        region_code="17",
        signed_on=date(2024, 10, 31),
        cohorts=(DemoCohort("PANWASCAM", 387), DemoCohort("PKD", 1_513), DemoCohort("PTPS", 3_900)),
    ),
)


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
    """Register synthetic officers in each demo cohort, up to its planned headcount.

    One roster per agreement goes through the roster service as an operator's push (applied
    in this transaction, however large). `scale` shrinks every cohort for tests (0.01: 1%).
    """
    factory = OfficerFactory(OFFICERS_SEED)
    levels = await rosters_repository.role_levels(session)
    for agreement in agreements:
        plans = await _cohort_plans(session, agreement, levels, scale)
        rows = factory.roster(await _area(session, agreement.region_code), plans)
        if rows:
            await _push_roster(session, agreement, ndjson(rows), len(rows))


async def _cohort_plans(
    session: AsyncSession, agreement: AgreementRead, levels: dict[str, str], scale: float
) -> list[CohortPlan]:
    """The agreement's cohorts with their voting day and age limits, as the roster checks them."""
    limits = {row.id: row for row in await rosters_repository.cohorts_of(session, agreement.id)}
    return [
        CohortPlan(
            role=cohort.role,
            level=levels[cohort.role],
            headcount=round(cohort.planned_headcount * scale),
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
    upload = Upload(
        file=io.BytesIO(body),
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        newlines=body.count(b"\n"),
        head=body[:HEAD_BYTES],
    )
    # Above the limit the service would answer 202 and leave the batch to a background task.
    settings = get_settings().model_copy(update={"sync_roster_max_rows": rows})
    try:
        submitted = await rosters_service.submit_roster(
            session,
            ADMIN_PRINCIPAL,
            agreement=await rosters_service.writable_agreement(
                session, ADMIN_PRINCIPAL, agreement.id
            ),
            upload=upload,
            params=rosters_service.RosterParams(NDJSON, None, True, None, None, None),
            settings=settings,
        )
    finally:
        upload.close()
    counts = submitted.batch.counts
    if submitted.status_code != 201 or counts.get("created") != rows:
        raise RuntimeError(f"The demo roster of {agreement.number} did not land whole: {counts}")


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2))


def _read_keys(path: Path) -> dict[str, str] | None:
    return dict(json.loads(path.read_text())) if path.exists() else None
