"""What a push says besides its rows: the format, and mode, atomic and as_of (query or body)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from app.core.clock import today
from app.core.errors import Unprocessable, UnsupportedMediaType
from app.rosters.parsing import RosterFormat, detect_format
from app.rosters.parsing.formats import looks_like_multipart, looks_like_xls
from app.rosters.schemas import RosterMode

T = TypeVar("T")

MULTIPART = "multipart/form-data"
# Bodies whose format is read from their bytes: what `curl --data-binary` sends
# (x-www-form-urlencoded), what Windows browsers call a .csv (vnd.ms-excel), and unknowns.
SNIFFED_CONTENT_TYPES = (
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "application/vnd.ms-excel",
    "text/plain",
)
NAMED_TYPES = (
    "application/json",
    "application/x-ndjson",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
ACCEPT_POST = ", ".join((*NAMED_TYPES, MULTIPART, *SNIFFED_CONTENT_TYPES))
ACCEPTED_TYPES = (
    f"{', '.join(NAMED_TYPES)}, or as one file of a {MULTIPART} body (the format is then "
    "read from the bytes, as for application/octet-stream)"
)
BODY_OPTIONS = frozenset({"mode", "atomic", "as_of"})


@dataclass(frozen=True, slots=True)
class RosterParams:
    """What the request says besides the body (query and headers)."""

    content_type: str | None
    mode: RosterMode | None
    atomic: bool | None
    sheet: str | None
    as_of: date | None
    idempotency_key: str | None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def unsupported(detail: str) -> UnsupportedMediaType:
    """415, with the types the endpoint takes in `Accept-Post` (RFC 5789)."""
    return UnsupportedMediaType(detail, headers={"Accept-Post": ACCEPT_POST})


def format_from_content_type(content_type: str | None) -> RosterFormat | None:
    """The format a Content-Type names; None when the bytes tell it (sniffed types and
    multipart, whose file part is sniffed); 415 otherwise."""
    media = media_type(content_type)
    if not media or media in SNIFFED_CONTENT_TYPES or media == MULTIPART:
        return None
    fmt = detect_format(content_type, b"")
    if fmt is None:
        raise unsupported(f"Send the roster as {ACCEPTED_TYPES}")
    return fmt


def body_format(content_type: str | None, head: bytes) -> RosterFormat:
    """The format the Content-Type names, else the one the body's first bytes show; 415."""
    fmt = format_from_content_type(content_type) or detect_format(None, head)
    if fmt is not None:
        return fmt
    if looks_like_multipart(head):
        raise unsupported(
            f"The body is {MULTIPART} but its Content-Type does not say so: send the header "
            "with its boundary (curl -F and browsers do), or the file alone as the body"
        )
    if looks_like_xls(head):
        raise unsupported("A legacy .xls workbook: save it as .xlsx (Excel 2007 on) or as CSV")
    raise unsupported(f"Cannot tell the roster's format; send it as {ACCEPTED_TYPES}")


def read_options(params: RosterParams, body: dict[str, object]) -> tuple[str, bool, date]:
    """mode, atomic and as_of from the query, or from a JSON body's top-level keys."""
    errors: list[dict[str, Any]] = [
        {"loc": ["body", key], "code": "extra_forbidden", "msg": "Unknown key"}
        for key in sorted(set(body) - BODY_OPTIONS)
    ]
    query_mode = params.mode.value if params.mode else None
    mode = _option(body, "mode", query_mode, _mode, "Must be upsert or replace", errors)
    atomic = _option(body, "atomic", params.atomic, _bool, "Must be true or false", errors)
    as_of = _option(body, "as_of", params.as_of, _date, "Must be a date, YYYY-MM-DD", errors)
    if errors:
        raise Unprocessable(
            "The roster's options are not valid", code="invalid_roster_options", errors=errors
        )
    return mode or "upsert", bool(atomic), as_of or today()


def _option(
    body: dict[str, object],
    key: str,
    given: T | None,
    read: Callable[[object], T | None],
    invalid: str,
    errors: list[dict[str, Any]],
) -> T | None:
    """The body's value of `key` when the query gives none; where both do, they must agree."""
    if key not in body:
        return given
    value = read(body[key])
    if value is None:
        errors.append(_option_error(key, invalid))
    elif given is not None and value != given:
        errors.append(_option_error(key, f"Differs from the {key} query parameter"))
    else:
        return value
    return given


def _mode(value: object) -> str | None:
    return str(value) if value in ("upsert", "replace") else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _option_error(key: str, msg: str) -> dict[str, Any]:
    return {"loc": ["body", key], "code": "invalid", "msg": msg}
