"""Role labels: the words rosters write for each role (JABATAN), in the role catalog.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00

A label is a JABATAN as the roster parser reads it (app/rosters/parsing/jabatan.py): lower-case
words, the position words (ketua, anggota, sekretaris, staf) and filler words (petugas, kpu,
bawaslu) left out. A label with `read_as` is a longer name of a body, read as that shorter label
of the same role wherever it stands in a JABATAN ("ketua panwaslu kecamatan" is read as "ketua
panwascam"); the others name their role whole, with the position they imply ("satpam":
TENAGA_PENDUKUNG, staf). A role's own code also names it, with no position.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# label, role, position it implies
TITLES = [
    ("ppk", "PPK", None),
    ("pps", "PPS", None),
    ("kpps", "KPPS", None),
    ("pantarlih", "PANTARLIH", None),
    ("linmas", "KETERTIBAN_TPS", None),
    ("panwascam", "PANWASCAM", None),
    ("pkd", "PKD", None),
    ("ptps", "PTPS", None),
    ("sekretariat ppk", "SEKRETARIAT_PPK", "staf"),
    ("sekretariat pps", "SEKRETARIAT_PPS", "staf"),
    ("sekretariat panwascam", "SEKRETARIAT_PANWASCAM", "staf"),
    ("pelaksana teknis panwascam", "SEKRETARIAT_PANWASCAM", "staf"),
    ("pelaksana teknis sekretariat panwascam", "SEKRETARIAT_PANWASCAM", "staf"),
    ("tenaga pendukung panwascam", "SEKRETARIAT_PANWASCAM", "staf"),
    ("kepala sekretariat panwascam", "KASEKCAM", None),
    ("kepala sekretariat", "KASEKCAM", None),
    ("kasek", "KASEKCAM", None),
    ("kasekcam", "KASEKCAM", None),
    ("kasek panwascam", "KASEKCAM", None),
    ("tenaga pendukung", "TENAGA_PENDUKUNG", "staf"),
    ("satpam", "TENAGA_PENDUKUNG", "staf"),
    ("security", "TENAGA_PENDUKUNG", "staf"),
    ("pramubakti", "TENAGA_PENDUKUNG", "staf"),
    ("office boy", "TENAGA_PENDUKUNG", "staf"),
    ("cleaning service", "TENAGA_PENDUKUNG", "staf"),
    ("pengemudi", "TENAGA_PENDUKUNG", "staf"),
    ("sopir", "TENAGA_PENDUKUNG", "staf"),
]

# longer name, role, the label it is read as
NAMES = [
    ("panitia pengawas pemilihan umum kecamatan", "PANWASCAM", "panwascam"),
    ("panitia pengawas pemilihan kecamatan", "PANWASCAM", "panwascam"),
    ("panitia pengawas pemilu kecamatan", "PANWASCAM", "panwascam"),
    ("panwaslu kecamatan", "PANWASCAM", "panwascam"),
    ("panwas kecamatan", "PANWASCAM", "panwascam"),
    ("pengawas pemilu kelurahan desa", "PKD", "pkd"),
    ("pengawas pemilu desa kelurahan", "PKD", "pkd"),
    ("pengawas kelurahan desa", "PKD", "pkd"),
    ("pengawas desa kelurahan", "PKD", "pkd"),
    ("pengawas kelurahan", "PKD", "pkd"),
    ("pengawas desa", "PKD", "pkd"),
    ("pengawas tempat pemungutan suara", "PTPS", "ptps"),
    ("pengawas tps", "PTPS", "ptps"),
    ("kelompok penyelenggara pemungutan suara", "KPPS", "kpps"),
    ("panitia pemilihan kecamatan", "PPK", "ppk"),
    ("panitia pemungutan suara", "PPS", "pps"),
    ("pemutakhiran data pemilih", "PANTARLIH", "pantarlih"),
    ("perlindungan masyarakat", "KETERTIBAN_TPS", "linmas"),
    ("ketertiban tps", "KETERTIBAN_TPS", "linmas"),
    ("ketertiban", "KETERTIBAN_TPS", "linmas"),
]


def upgrade() -> None:
    labels = op.create_table(
        "role_labels",
        sa.Column("label", sa.Text, primary_key=True),
        sa.Column("role_code", sa.Text, sa.ForeignKey("roles.code"), nullable=False),
        sa.Column("position", sa.Text),
        sa.Column("read_as", sa.Text),
        sa.UniqueConstraint("label", "role_code"),
        # A longer name is read as a label of its own role.
        sa.ForeignKeyConstraint(
            ["read_as", "role_code"],
            ["role_labels.label", "role_labels.role_code"],
            name="fk_role_labels_read_as_role_labels",
        ),
        sa.CheckConstraint("label ~ '^[a-z0-9]+( [a-z0-9]+)*$'", name="label_words"),
        sa.CheckConstraint(
            "position IS NULL OR position IN ('ketua', 'anggota', 'sekretaris', 'staf')",
            name="position",
        ),
        sa.CheckConstraint("read_as IS NULL OR position IS NULL", name="name_implies_nothing"),
    )
    op.bulk_insert(
        labels,
        [
            {"label": label, "role_code": role, "position": position, "read_as": None}
            for label, role, position in TITLES
        ]
        + [
            {"label": label, "role_code": role, "position": None, "read_as": read_as}
            for label, role, read_as in NAMES
        ],
    )


def downgrade() -> None:
    op.drop_table("role_labels")
