"""The roster body as the OpenAPI document describes it, per media type, built from the columns
of columns.py: the JSON officer's fields and the spreadsheet headers each is read under."""

from typing import Any

from app.rosters.columns import FIELDS, HEADERS

# What each field the parser reads holds (tests/rosters/test_contract.py: one for every field).
NOTES = {
    "nik": "The NIK, 16 digits (in XLSX also an exact number)",
    "role": "The role code (`KPPS`, `PTPS`, ...) or a JABATAN such as `Ketua KPPS`",
    "position": "`ketua`, `anggota`, `sekretaris` or `staf` (else taken from the JABATAN)",
    "full_name": "The name as on the KTP",
    "birth_date": "`YYYY-MM-DD` or `DD-MM-YYYY` (an Excel date in XLSX)",
    "sex": "`L` or `P` (laki-laki, perempuan)",
    "phone": "A mobile number, `08...` or `+62...`",
    "region_code": "Where the officer serves: the village's dotted code, `12.09.18.2002`",
    "district_name": "Instead of `region_code`: the district's name, with `village_name`",
    "village_name": "Instead of `region_code`: the village's name, with `district_name`",
    "tps": "The polling station's number within the village, `019`",
    "coverage_start": "TMT, the first covered day (default: the cohort's start)",
    "coverage_end": "The last covered day (default: the cohort's end)",
    "replaces_nik": "For a PAW: the NIK of the officer this one replaces",
}
# A row without one of these is rejected (as is one with neither `region_code` nor both names).
REQUIRED = ("nik", "full_name", "birth_date", "role")


def _note(field: str) -> str:
    return f"{NOTES.get(field, '')}. Headers: {', '.join(f'`{h}`' for h in HEADERS[field])}"


OFFICER: dict[str, Any] = {
    "type": "object",
    "title": "RosterOfficer",
    "description": "One officer; keys are the field names below or any of their headers",
    "properties": {field: {"type": "string", "description": _note(field)} for field in FIELDS},
    "required": list(REQUIRED),
}
OPTIONS: dict[str, Any] = {
    "mode": {"type": "string", "enum": ["upsert", "replace"], "default": "upsert"},
    "atomic": {"type": "boolean", "default": False},
    "as_of": {"type": "string", "format": "date", "description": "Default today (WIB)"},
}
JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "title": "RosterDocument",
            "properties": {**OPTIONS, "officers": {"type": "array", "items": OFFICER}},
            "required": ["officers"],
        },
        {"type": "array", "items": OFFICER, "title": "RosterOfficers"},
    ]
}
NDJSON_SCHEMA = {
    "type": "string",
    "description": "One officer object per line, with the fields of the JSON officer.",
}


def column_table() -> str:
    """The columns a CSV or XLSX may have, in any order, each under any of its headers."""
    lines = ["| Field | What it holds | Headers |", "|---|---|---|"]
    lines += [
        f"| `{field}` | {NOTES.get(field, '')} | {', '.join(HEADERS[field])} |" for field in FIELDS
    ]
    return "\n".join(lines)


CSV_SCHEMA = {
    "type": "string",
    "description": "A header row, then one officer a row; `,` or `;`, UTF-8 with or without a "
    "BOM; the header may sit below a title block. Required: "
    + ", ".join(f"`{f}`" for f in REQUIRED)
    + ".\n\n"
    + column_table(),
}
XLSX_SCHEMA = {
    "type": "string",
    "format": "binary",
    "description": "The first sheet, or the one named by `?sheet=`, laid out as the CSV: "
    "a header row (maybe below a title block), then one officer a row.\n\n" + column_table(),
}
