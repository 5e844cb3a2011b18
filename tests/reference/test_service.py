"""The reference service API other domains call."""

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound, Unprocessable
from app.models import Election, RoleAgeLimit
from app.reference import service


@pytest.mark.parametrize(
    ("raw", "dotted"),
    [
        ("16", "16"),
        ("1612", "16.12"),
        ("161201", "16.12.01"),
        ("1612012001", "16.12.01.2001"),
        ("16.12.01.2001", "16.12.01.2001"),
        (" 16.12 ", "16.12"),
    ],
)
def test_normalize_region_code(raw: str, dotted: str) -> None:
    assert service.normalize_region_code(raw) == dotted


@pytest.mark.parametrize(
    "raw", ["", "1", "161", "16.1", "16.1201", "16 12", "1٦", "16.12.01.2001."]
)
def test_normalize_refuses_malformed_codes(raw: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        service.normalize_region_code(raw)
    assert caught.value.code == "invalid_region_code"


async def test_get_region(session: AsyncSession) -> None:
    assert (await service.get_region(session, "1209")).name == "Kabupaten Asahan"
    assert (await service.get_region(session, "81.71")).level == "regency"
    with pytest.raises(NotFound) as missing:
        await service.get_region(session, "16.99")
    assert missing.value.code == "region_not_found"
    with pytest.raises(Unprocessable):
        await service.get_region(session, "16.9")


async def test_region_contains(session: AsyncSession) -> None:
    assert await service.region_contains(session, "16.12", "16.12.01.2001")
    assert await service.region_contains(session, "16", "1612012001")
    assert await service.region_contains(session, "16.12", "16.12")
    assert not await service.region_contains(session, "16.12", "16.03.01")
    assert not await service.region_contains(session, "16.12.01.2001", "16.12")
    with pytest.raises(Unprocessable):
        await service.region_contains(session, "16.1", "16.12")


async def test_known_district_codes(session: AsyncSession) -> None:
    districts = await service.known_district_codes(session)
    assert len(districts) == 7_285
    assert {"16.12.01", "12.09.18", "93.01.01"} <= districts
    assert "91.01.01" not in districts  # Merauke's old code, before Papua Selatan (93.01)
    assert "16.12" not in districts
    assert await service.known_district_codes(session) is districts  # cached


async def test_get_election_and_role(session: AsyncSession) -> None:
    assert (await service.get_election(session, "pemilu-2024")).voting_day == date(2024, 2, 14)
    assert (await service.get_role(session, "KETERTIBAN_TPS")).body == "kpu"
    with pytest.raises(NotFound) as election:
        await service.get_election(session, "pemilu-1999")
    assert election.value.code == "election_not_found"
    with pytest.raises(NotFound) as role:
        await service.get_role(session, "LINMAS")
    assert role.value.code == "role_not_found"


async def test_age_limits(session: AsyncSession) -> None:
    assert await service.age_limits(session, "pemilu-2024", "KPPS") == (17, 55)
    assert await service.age_limits(session, "pilkada-2024", "KPPS") == (17, None)
    assert await service.age_limits(session, "pemilu-2024", "PPS") == (17, None)
    session.add(Election(code="pemilu-2034", name="Pemilu 2029", voting_day=date(2029, 2, 14)))
    await session.flush()
    # An override without a maximum lifts the role's maximum too.
    session.add(RoleAgeLimit(election_code="pemilu-2034", role_code="PTPS", min_age=21))
    await session.flush()
    assert await service.age_limits(session, "pemilu-2034", "PTPS") == (21, None)
    with pytest.raises(NotFound) as election:
        await service.age_limits(session, "pemilu-1999", "KPPS")
    assert election.value.code == "election_not_found"
    with pytest.raises(NotFound) as role:
        await service.age_limits(session, "pemilu-2024", "LINMAS")
    assert role.value.code == "role_not_found"


async def test_schedules_in_force(session: AsyncSession) -> None:
    assert await service.schedules_in_force(session, date(2019, 12, 1)) == []
    lines = await service.schedules_in_force(session, date(2024, 11, 27))
    assert len(lines) == 14
    jkm = await service.schedules_in_force(session, date(2024, 11, 27), "JKM")
    assert sum(line.amount or 0 for line in jkm) == 42_000_000
