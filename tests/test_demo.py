"""The demo's officers: cohorts filled through the roster service, with valid, unique NIKs.

The full demo registers about 70,800 officers (10-20 s here): the seed is tested at 5%, and one
agreement is filled to 95% of its planned headcount on its own.
"""

from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.service import read_agreement
from app.core.auth import ADMIN_PRINCIPAL
from app.demo import ENROLLED_PERCENT, register_demo_officers, seed_demo
from app.demo_data import DEMO_AGREEMENTS
from app.demo_officers import Area, CohortPlan, OfficerFactory
from app.models import Agreement, Cohort, Registration, RosterBatch
from app.nik import check_niks
from tests.rosters.helpers import officer

SCALE = 0.05
BAWASLU_ASAHAN = DEMO_AGREEMENTS[1].number


async def registered_per_cohort(session: AsyncSession) -> list[tuple[str, str, int, int, int]]:
    """(agreement number, role, planned, active, all registrations) per cohort."""
    rows = await session.execute(
        select(
            Agreement.number,
            Cohort.role_code,
            Cohort.planned_headcount,
            func.count(Registration.id).filter(Registration.status == "active"),
            func.count(Registration.id),
        )
        .join(Cohort, Cohort.agreement_id == Agreement.id)
        .outerjoin(Registration, Registration.cohort_id == Cohort.id)
        .group_by(Agreement.number, Cohort.id)
    )
    return [(number, role, planned, active, total) for number, role, planned, active, total in rows]


async def test_seed_registers_a_share_of_every_cohort_with_valid_unique_niks(
    session: AsyncSession, tmp_path: Path
) -> None:
    await seed_demo(session, data_dir=tmp_path, officers_scale=SCALE)

    cohorts = await registered_per_cohort(session)
    assert len(cohorts) == sum(len(d.cohorts) + len(d.added_later) for d in DEMO_AGREEMENTS)
    for number, role, planned, active, registered in cohorts:
        expected = round(planned * ENROLLED_PERCENT // 100 * SCALE)
        assert active == registered == expected, (number, role)
    batches = (await session.execute(select(RosterBatch.status, RosterBatch.applied))).all()
    assert [tuple(batch) for batch in batches] == [("completed", True)] * len(DEMO_AGREEMENTS)

    niks = (await session.scalars(select(Registration.nik))).all()
    assert len(set(niks)) == len(niks) == sum(cohort[4] for cohort in cohorts)
    checks = check_niks([f"{nik:016d}" for nik in niks], today=date.today())
    assert [check.errors for check in checks if not check.ok] == []

    # a second run registers nobody again
    await seed_demo(session, data_dir=tmp_path, officers_scale=SCALE)
    assert await session.scalar(select(func.count(Registration.id))) == len(niks)


async def test_an_agreement_is_filled_to_95_percent_of_its_plan_leaving_room(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    lines = await seed_demo(session, data_dir=tmp_path, officers_scale=0)
    agreement_id = await session.scalar(
        select(Agreement.id).where(Agreement.number == BAWASLU_ASAHAN)
    )
    assert agreement_id is not None
    agreement = await read_agreement(session, ADMIN_PRINCIPAL, agreement_id=agreement_id)

    await register_demo_officers(session, [agreement])

    bpjs = next(line for line in lines if "(bpjs_branch" in line).rsplit(": ", 1)[1]
    response = await client.get(
        f"/v1/agreements/{agreement_id}/summary", headers={"Authorization": f"Bearer {bpjs}"}
    )
    assert response.status_code == 200
    summary = response.json()
    assert {c["role"]: (c["active"], c["planned"]) for c in summary["cohorts"]} == {
        "PANWASCAM": (71, 75),
        "SEKRETARIAT_PANWASCAM": (142, 150),
        "TENAGA_PENDUKUNG": (47, 50),
        "PKD": (193, 204),
        "PTPS": (1_315, 1_385),
    }
    assert summary["totals"]["held"] == summary["totals"]["rejected"] == 0
    # every one of Asahan's 25 kecamatan has its officers, and 193 of its 204 desa their PKD
    regions = (
        await session.execute(
            select(Registration.role_code, func.count(func.distinct(Registration.region_code)))
            .where(Registration.agreement_id == agreement_id)
            .group_by(Registration.role_code)
        )
    ).all()
    assert {role: count for role, count in regions} == {
        "PANWASCAM": 25,
        "SEKRETARIAT_PANWASCAM": 25,
        "TENAGA_PENDUKUNG": 25,
        "PKD": 193,
        "PTPS": 204,
    }

    # The office's next push fits under the plan: no over-headcount warning.
    bawaslu = next(line for line in lines if "(bawaslu" in line).rsplit(": ", 1)[1]
    pushed = await client.post(
        f"/v1/agreements/{agreement_id}/rosters",
        json={"officers": [officer(9_990, role="PTPS", position=None)]},
        headers={"Authorization": f"Bearer {bawaslu}"},
    )
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["counts"]["created"] == 1
    assert pushed.json()["warnings"] == []


def test_officers_are_born_inside_their_cohort_age_limits() -> None:
    area = Area(("12.09.01", "12.09.02"), ("12.09.01.2001", "12.09.02.2001", "12.09.02.2002"))
    kpps = CohortPlan(
        "KPPS", "tps", 70, date(2023, 11, 1), date(2024, 2, 29), date(2024, 2, 14), 17, 55
    )
    narrow = CohortPlan(
        "PKD", "desa", 300, date(2024, 11, 1), date(2024, 12, 31), date(2024, 11, 27), 25, 26
    )
    rows = OfficerFactory(7).roster(area, [kpps, narrow])

    assert rows == OfficerFactory(7).roster(area, [kpps, narrow])
    checks = check_niks([row["nik"] for row in rows], today=date.today())
    for row, check in zip(rows, checks, strict=True):
        assert check.nik is not None, row
        assert (check.nik.birth_date.isoformat(), check.nik.sex) == (row["birth_date"], row["sex"])
        assert row["region_code"].startswith(check.nik.district + ".")
        plan = kpps if row["role"] == "KPPS" else narrow
        born, day = check.nik.birth_date, plan.voting_day
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        assert plan.min_age <= age <= (plan.max_age or 0), row
    # seven KPPS per TPS, the chair first; the TPS numbered within its village
    assert [(r["region_code"], r["tps"], r["position"]) for r in rows[6:8] + rows[21:22]] == [
        ("12.09.01.2001", "001", "anggota"),
        ("12.09.02.2001", "001", "ketua"),
        ("12.09.01.2001", "002", "ketua"),
    ]
