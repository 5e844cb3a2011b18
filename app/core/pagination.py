"""Cursor pagination: `?limit=&cursor=` answered by `{items, next_cursor}`."""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.core.errors import Unprocessable

T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=1000, description="Items per page")]
CursorQuery = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([str(value) for value in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[str]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _invalid_cursor() from exc
    if (
        not isinstance(values, list)
        or len(values) != width
        or not all(isinstance(v, str) for v in values)
    ):
        raise _invalid_cursor()
    return values


def decode_id_cursor(cursor: str) -> int:
    """The bigint id of a cursor made by `encode_cursor([id])`; 422 for anything else."""
    (value,) = decode_cursor(cursor, 1)
    return _bigint(value)


def decode_int_cursor(cursor: str, width: int) -> list[int]:
    """The `width` bigint keys of a cursor made by `encode_cursor`; 422 for anything else."""
    return [_bigint(value) for value in decode_cursor(cursor, width)]


def _bigint(value: str) -> int:
    """A key of a bigint column as a cursor holds it: ASCII digits below 2**63."""
    if not value.isascii() or not value.isdigit() or int(value) >= 2**63:
        raise _invalid_cursor()
    return int(value)


def _invalid_cursor() -> Unprocessable:
    return Unprocessable("The cursor is not one this service gave", code="invalid_cursor")


def _typed(value: str, key: ColumnElement[Any]) -> Any:
    python_type = key.type.python_type
    try:
        if python_type is datetime:
            return datetime.fromisoformat(value)
        if python_type is date:
            return date.fromisoformat(value)
        if python_type is int:
            return _bigint(value)
        if python_type is uuid.UUID:
            return uuid.UUID(value)
    except ValueError as exc:
        raise _invalid_cursor() from exc
    return value


def page_of(
    rows: Sequence[T], limit: int, cursor_of: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """The page in `rows`, read as `limit + 1` to learn whether more follow: its first `limit`
    rows, and the cursor after the last of them (its `cursor_of` values) when more follow."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    return kept, encode_cursor(cursor_of(kept[-1]))


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    keys: Sequence[Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Rows of `stmt` ordered by `keys` after `cursor`, and the cursor of the next page.

    Each row holds the selected columns followed by the key values.
    """
    if cursor is not None:
        values = decode_cursor(cursor, len(keys))
        bound = [
            bindparam(None, _typed(v, key), type_=key.type)
            for key, v in zip(keys, values, strict=True)
        ]
        stmt = stmt.where(tuple_(*keys) > tuple_(*bound))
    # The keys ride along as trailing columns, so any select (entities or columns) can page.
    paged = stmt.add_columns(*keys).order_by(*keys).limit(limit + 1)
    rows = list((await session.execute(paged)).all())
    return page_of(rows, limit, lambda row: list(row)[-len(keys) :])
