"""The JABATAN words come from the role catalog (role_labels), which keeps them consistent."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import RoleLabel
from app.reference import service as reference
from app.rosters.context import vocabulary_of
from tests.reference.test_database import refused


async def test_a_label_added_to_the_catalog_is_read(session: AsyncSession) -> None:
    session.add(RoleLabel(label="pengawas ad hoc", role_code="PTPS"))
    session.add(RoleLabel(label="pengawas adhoc", role_code="PTPS", read_as="pengawas ad hoc"))
    await session.flush()
    roles = vocabulary_of(await reference.role_labels(session))
    assert roles.parse("Pengawas Ad-Hoc") == ("PTPS", None)
    assert roles.parse("Anggota Pengawas Adhoc") == ("PTPS", "anggota")
    assert roles.parse("Ketua KPPS") == ("KPPS", "ketua")
    assert roles.parse("Sekretaris PPK") == ("SEKRETARIAT_PPK", "sekretaris")


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        # A longer name is read as a label of its own role.
        (
            {"label": "ptps baru", "role_code": "PPS", "read_as": "ptps"},
            "fk_role_labels_read_as_role_labels",
        ),
        ({"label": "Ketua KPPS", "role_code": "KPPS"}, "ck_role_labels_label_words"),
        ({"label": "kpps  baru", "role_code": "KPPS"}, "ck_role_labels_label_words"),
        ({"label": "kpps baru", "role_code": "KPPS", "position": "bos"}, "ck_role_labels_position"),
        (
            {"label": "kpps baru", "role_code": "KPPS", "position": "ketua", "read_as": "kpps"},
            "ck_role_labels_name_implies_nothing",
        ),
        ({"label": "kpps", "role_code": "KPPS"}, "pk_role_labels"),
        ({"label": "bupati", "role_code": "BUPATI"}, "fk_role_labels_role_code_roles"),
    ],
)
async def test_the_catalog_refuses_inconsistent_labels(
    session: AsyncSession, row: dict[str, Any], constraint: str
) -> None:
    assert constraint in await refused(session, RoleLabel(**row))
