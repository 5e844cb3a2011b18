"""Shared pieces of the reference tests."""

from typing import Any

import httpx

from tests.factories import ADMIN


async def all_pages(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], headers: dict[str, str] = ADMIN
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paged list, following next_cursor; and the number of pages fetched."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
