"""The columns of a roster, declared once: the file's headers, the staging table, the registration.

Everything that lists columns is built from COLUMNS when the module is imported: the fields the
parser reads and the headers it knows them by, the staging tables' DDL and COPY column list,
and the registration's INSERT, the UPDATE of an officer already there and the comparison that
tells an update from an unchanged row. RowValidator.validate (validation.py) writes the staged
values in this order, by hand, as it is the hot loop of a million-row upload.
"""

from dataclasses import dataclass
from typing import Literal

# What a staged column is to the registration: "key" ones are written when it is created and
# pick it when it exists (the NIK and cohort); "data" ones are also compared and updated.
Registered = Literal["key", "data"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    staged: str | None = None  # the type in the staging tables; None: read, then resolved
    registered: Registered | None = None
    headers: tuple[str, ...] = ()  # the file's names for it besides its field's; (): not read
    field: str | None = None  # the key in RawRow.values, when not `name`

    @property
    def field_name(self) -> str:
        return self.field or self.name


COLUMNS = (
    Column("row_number", "integer NOT NULL"),
    Column("nik", "bigint", "key", (
        "NIK", "NO NIK", "NOMOR NIK", "NIK KTP", "NO KTP", "NOMOR KTP",
        "NOMOR INDUK KEPENDUDUKAN",
    )),
    # The NIK as written, kept for rejected rows only: a valid one is nik::text.
    Column("nik_text", "text"),
    Column("codes", "text[]"),
    Column("messages", "text[]"),
    Column("original", "text NOT NULL"),
    Column("cohort_id", "uuid", "key"),
    Column("role_code", "text", "key", ("ROLE", "PERAN", "KODE PERAN", "ROLE CODE"), field="role"),
    Column("position", "text", "data", ("POSITION", "KEDUDUKAN", "POSISI")),
    Column("full_name", "text", "data", (
        "NAMA", "NAMA LENGKAP", "NAMA PETUGAS", "NAMA SESUAI KTP", "FULL NAME", "NAME",
    )),
    Column("birth_date", "date", "data", (
        "TANGGAL LAHIR", "TGL LAHIR", "TGL LHR", "BIRTH DATE", "DATE OF BIRTH", "DOB",
    )),
    Column("sex", "text", "data", ("JENIS KELAMIN", "KELAMIN", "JK", "L/P", "SEX", "GENDER")),
    Column("phone", "text", "data", (
        "NO HP", "NOMOR HP", "NO HANDPHONE", "NO TELP", "NOMOR TELP", "NO TELEPON",
        "NOMOR TELEPON", "TELEPON", "TELP", "NO WA", "NOMOR WA", "HP", "PHONE", "PHONE NUMBER",
    )),
    Column("region_code", "text", "data", (
        "KODE WILAYAH", "KODE WIL", "KODE DESA", "KODE KELURAHAN", "KODE DESA/KELURAHAN",
        "REGION CODE",
    )),
    # Read instead of a region code, and resolved into one.
    Column("district_name", headers=("KECAMATAN", "NAMA KECAMATAN", "DISTRICT", "DISTRICT NAME")),
    Column("village_name", headers=(
        "DESA", "KELURAHAN", "DESA/KELURAHAN", "KELURAHAN/DESA", "NAMA DESA", "NAMA KELURAHAN",
        "VILLAGE", "VILLAGE NAME",
    )),
    Column("tps", "text", "data", ("TPS", "NO TPS", "NOMOR TPS")),
    Column("coverage_start", "date", "data", (
        "TMT", "TANGGAL MULAI", "TGL MULAI", "MULAI", "COVERAGE START", "START", "START DATE",
    )),
    Column("coverage_end", "date", "data", (
        "TANGGAL SELESAI", "TGL SELESAI", "TANGGAL BERAKHIR", "TGL BERAKHIR", "SELESAI",
        "COVERAGE END", "END", "END DATE",
    )),
    Column("replaces_nik", "bigint", None, (
        "NIK DIGANTI", "NIK YANG DIGANTI", "MENGGANTIKAN NIK", "REPLACES NIK",
    )),
    Column("nik_warnings", "text[]", "data"),
)  # fmt: skip

# The parser: the fields a raw row may hold, and the headers of each.
FIELDS = tuple(c.field_name for c in COLUMNS if c.headers)
HEADERS = {c.field_name: c.headers for c in COLUMNS if c.headers}

# The staging tables, in the order of the staged tuples.
STAGE_COLUMNS = tuple(c.name for c in COLUMNS if c.staged is not None)
STAGE_DDL = ",\n".join(f"{c.name} {c.staged}" for c in COLUMNS if c.staged is not None)

# The registration.
REGISTERED = tuple(c.name for c in COLUMNS if c.registered is not None)
DATA = tuple(c.name for c in COLUMNS if c.registered == "data")


def listed(names: tuple[str, ...], alias: str | None = None) -> str:
    """`a, b, c`, or `s.a, s.b, s.c` with an alias."""
    return ", ".join(f"{alias}.{name}" if alias else name for name in names)


# Whether registration r already holds staged row s's data.
SAME_DATA = f"({listed(DATA, 'r')}) IS NOT DISTINCT FROM ({listed(DATA, 's')})"
# The SET list of the UPDATE of registration r from staged row s.
SET_DATA = ", ".join(f"{name} = s.{name}" for name in DATA)
