"""The demo data: the five reported agreements (eight PKS, one per counterpart), loaded once."""

from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.demo import seed_demo
from app.models import Agreement, ApiKey, Cohort, Organization


async def totals(session: AsyncSession) -> tuple[int, ...]:
    return tuple(
        [
            await session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Organization, ApiKey, Agreement, Cohort)
        ]
    )


async def test_seed_demo_creates_the_reported_agreements_once(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    # 1% of the officers: tests/test_demo.py checks them
    lines = await seed_demo(session, data_dir=tmp_path, officers_scale=0.01)

    kinds = [line.split("(")[1].split(",")[0] for line in lines]
    assert kinds == ["operator", "bpjs_branch", "kpu", "bawaslu", "government", "integrator"]
    rows = (
        await session.execute(
            select(Agreement.region_code, Organization.name, Agreement.status)
            .join(Organization, Organization.id == Agreement.counterpart_id)
            .order_by(Agreement.number)
        )
    ).all()
    assert {(region, name) for region, name, _ in rows} == {
        ("12.09", "KPU Kabupaten Asahan"),
        ("12.09", "Bawaslu Kabupaten Asahan"),
        ("16.12", "Bawaslu Kabupaten Penukal Abab Lematang Ilir"),
        ("16.03", "KPU Kabupaten Muara Enim"),
        ("16.03", "Bawaslu Kabupaten Muara Enim"),
        ("81.71", "Bawaslu Kota Ambon"),
        ("17", "KPU Provinsi Bengkulu"),
        ("17", "Bawaslu Provinsi Bengkulu"),
    }
    assert {status for *_, status in rows} == {"active"}

    # headcounts as reported
    headcounts = await session.execute(
        select(Organization.name, func.sum(Cohort.planned_headcount))
        .join(Agreement, Agreement.id == Cohort.agreement_id)
        .join(Organization, Organization.id == Agreement.counterpart_id)
        .group_by(Organization.name)
    )
    by_counterpart: dict[str, int] = {name: int(total) for name, total in headcounts}
    assert by_counterpart["KPU Kabupaten Asahan"] == 1_424 + 12_465
    assert by_counterpart["Bawaslu Kabupaten Asahan"] == 275 + 204 + 1_385
    assert by_counterpart["Bawaslu Kabupaten Penukal Abab Lematang Ilir"] == 124 + 229
    assert abs(by_counterpart["KPU Kabupaten Muara Enim"] - 13_400) < 10
    assert by_counterpart["Bawaslu Kabupaten Muara Enim"] == 2_174
    assert by_counterpart["Bawaslu Kota Ambon"] == 859

    # the printed BPJS key reads its two Asahan agreements; the government key its two payments
    tokens = {line.split("(")[1].split(",")[0]: line.rsplit(": ", 1)[1] for line in lines}
    for kind, expected in (("bpjs_branch", 2), ("government", 2), ("kpu", 1), ("integrator", 0)):
        response = await client.get(
            "/v1/agreements", headers={"Authorization": f"Bearer {tokens[kind]}"}
        )
        if kind == "integrator":
            assert response.status_code == 403
            continue
        assert len(response.json()["items"]) == expected, kind
    asahan = (
        await client.get(
            "/v1/agreements",
            params={"region": "12.09"},
            headers={"Authorization": f"Bearer {tokens['kpu']}"},
        )
    ).json()["items"][0]
    assert asahan["signed_on"] == "2024-11-11"
    assert asahan["signed_place"] == "Aula Kejaksaan Negeri Asahan"
    assert {c["election"] for c in asahan["cohorts"]} == {"pemilu-2024", "pilkada-2024"}

    # a second run creates nothing and prints the same keys
    before = await totals(session)
    assert await seed_demo(session, data_dir=tmp_path) == lines
    assert await totals(session) == before
