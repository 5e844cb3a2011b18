"""The four roster formats, told from the Content-Type or from the body's first bytes.

Sniffed: a zip archive is XLSX (xlsx_guard then requires its xl/workbook.xml); text whose
first character opens a JSON value is JSON or NDJSON; other text with a `;` or `,` is CSV (its
delimiter is chosen on its header line). A multipart/form-data body that lost its
Content-Type, and a legacy binary .xls, are told apart so as to be refused, never read as CSV.
"""

import codecs
from enum import StrEnum

import orjson


class RosterFormat(StrEnum):
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    XLSX = "xlsx"


_CONTENT_TYPES = {
    "application/json": RosterFormat.JSON,
    "text/json": RosterFormat.JSON,
    "application/x-ndjson": RosterFormat.NDJSON,
    "application/ndjson": RosterFormat.NDJSON,
    "application/jsonl": RosterFormat.NDJSON,
    "application/x-jsonlines": RosterFormat.NDJSON,
    "application/jsonlines": RosterFormat.NDJSON,
    "text/csv": RosterFormat.CSV,
    "text/x-csv": RosterFormat.CSV,
    "application/csv": RosterFormat.CSV,
    "text/comma-separated-values": RosterFormat.CSV,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": RosterFormat.XLSX,
}


def detect_format(content_type: str | None, first_bytes: bytes) -> RosterFormat | None:
    """The roster format from the Content-Type, else from the first bytes; None when unknown."""
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        known = _CONTENT_TYPES.get(media_type)
        if known is not None:
            return known
        if media_type.endswith("+json"):
            return RosterFormat.JSON
    return _sniff_format(first_bytes)


def looks_like_multipart(data: bytes) -> bool:
    """A multipart/form-data body: a `--boundary` line, then the part's headers."""
    first, newline, rest = data.partition(b"\n")
    return (
        first.startswith(b"--")
        and bool(newline)
        and len(first) <= 80
        and rest.lower().lstrip().startswith(b"content-")
    )


def looks_like_xls(data: bytes) -> bool:
    """A legacy binary Excel workbook (an OLE2 compound file)."""
    return data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _sniff_format(data: bytes) -> RosterFormat | None:
    if data.startswith(b"PK\x03\x04"):
        return RosterFormat.XLSX
    if looks_like_multipart(data):
        return None
    text = _decode_prefix(data).lstrip()
    if not text:
        return None
    if text[0] == "[":
        return RosterFormat.JSON
    if text[0] == "{":
        return RosterFormat.NDJSON if _starts_with_object_line(text) else RosterFormat.JSON
    if ";" in text or "," in text:
        return RosterFormat.CSV
    return None


def _decode_prefix(data: bytes) -> str:
    """The text of a possibly truncated UTF-8 prefix, or "" when it is not text."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return ""
    return "" if "\x00" in text else text


def _starts_with_object_line(text: str) -> bool:
    first, newline, rest = text.partition("\n")
    if not newline or not rest.lstrip().startswith("{"):
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False
