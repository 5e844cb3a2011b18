"""JSON and NDJSON rosters: officers as objects, with the body's options beside them."""

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from app.rosters.parsing.cells import is_number_text, json_text
from app.rosters.parsing.headers import field_for_key
from app.rosters.parsing.jabatan import JABATAN, RoleVocabulary
from app.rosters.parsing.rows import RawRow, malformed

_BOM = b"\xef\xbb\xbf"


def open_json(
    file: BinaryIO, roles: RoleVocabulary
) -> tuple[list[str], dict[str, object], Iterator[RawRow]]:
    """The keys any officer has (the columns), the body's other keys, and the rows."""
    try:
        document = orjson.loads(file.read().removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        raise malformed(f"The body is not valid JSON: {exc}.") from exc
    officers, options = _split_body(document)
    seen: dict[str, None] = {}
    for officer in officers:
        seen.update(dict.fromkeys(officer))
    columns = list(seen)
    return columns, options, _json_rows(officers, columns, roles)


def _json_rows(
    officers: list[dict[str, object]], columns: list[str], roles: RoleVocabulary
) -> Iterator[RawRow]:
    for index, officer in enumerate(officers, start=1):
        yield _json_row(index, officer, columns, roles)


def ndjson_rows(file: BinaryIO, columns: list[str], roles: RoleVocabulary) -> Iterator[RawRow]:
    """The rows of an NDJSON file; `columns` grows as new keys appear."""
    seen: set[str] = set()
    index = 0
    for line_number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        officer = _ndjson_object(line.removeprefix(_BOM), line_number)
        index += 1
        for key in officer:
            if key not in seen:
                seen.add(key)
                columns.append(key)
        yield _json_row(index, officer, columns, roles)


def _split_body(document: object) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The officers and the other top-level keys of a JSON body."""
    if isinstance(document, list):
        officers, options = document, {}
    elif isinstance(document, dict) and isinstance(document.get("officers"), list):
        officers = document["officers"]
        options = {k: v for k, v in document.items() if k != "officers"}
    else:
        raise malformed('Expected a list of officers or an object with an "officers" list.')
    for index, officer in enumerate(officers, start=1):
        if not isinstance(officer, dict):
            raise malformed(f"Officer {index} is not a JSON object.")
    return officers, options


def _ndjson_object(line: bytes, line_number: int) -> dict[str, object]:
    try:
        officer = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise malformed(f"Line {line_number} is not valid JSON: {exc}.") from exc
    if not isinstance(officer, dict):
        raise malformed(f"Line {line_number} is not a JSON object.")
    return officer


def _json_row(
    index: int, officer: dict[str, object], columns: list[str], roles: RoleVocabulary
) -> RawRow:
    values: dict[str, str] = {}
    jabatan = ""
    nik_is_number = False
    for key, raw in officer.items():
        field = field_for_key(key)
        if field is None or field in values:
            continue
        text = json_text(raw)
        if field == "nik":
            nik_is_number = isinstance(raw, float) or is_number_text(text)
            if isinstance(raw, float):
                text = repr(raw)
        if not text:
            continue
        if field == JABATAN:
            jabatan = jabatan or text
        else:
            values[field] = text
    values.update(roles.role_patch(values.get("role"), jabatan, values.get("position")))
    original = [json_text(officer.get(column)) for column in columns]
    return RawRow(index, values, original, nik_is_number)
