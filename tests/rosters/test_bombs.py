"""Spreadsheet bombs and hostile files: each refused as roster_malformed, nothing written.

Their timings and the server's memory are measured by bench/bench_bombs.py, not here.
"""

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.problems import assert_problem
from tests.rosters import bombs
from tests.rosters.helpers import CSV, XLSX, csv_body, officer, parties, push


async def tables_checksum(session: AsyncSession) -> dict[str, str]:
    """Every table's rows, hashed: what a refused push must leave as it was."""
    tables = (
        await session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        )
    ).scalars()
    sums = {}
    for table in tables:
        digest = "md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
        query = text(f'SELECT {digest} FROM "{table}" t')
        sums[table] = (await session.execute(query)).scalar_one()
    return sums


BOMBS: dict[str, Callable[[], bytes]] = {
    "sheet expanding to 2 GiB": bombs.expanding_sheet,
    "sheet expanding past its declared size": lambda: bombs.expanding_sheet(declared=8 << 20),
    "row 100,000,000": bombs.far_row,
    "column past XFD": bombs.far_column,
    "cells at A1 and XFD1048576": bombs.corner_cell,
    "20,000 blank rows before the header": lambda: bombs.header_far_down(20_000),
    "zip that is not XLSX": bombs.zip_not_xlsx,
    "XLSX that is not a zip": lambda: csv_body([officer(1)]),
}


@pytest.mark.parametrize("name", list(BOMBS))
async def test_a_hostile_workbook_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, session: AsyncSession, name: str
):
    p = await parties(client, session)
    body = BOMBS[name]()
    assert len(body) < 3 * 2**20
    before = await tables_checksum(session)
    response = await push(client, p, body, XLSX)
    assert_problem(response, 422, "roster_malformed")
    if body.startswith(b"PK"):  # sniffed as XLSX without a Content-Type, refused the same
        assert_problem(await push(client, p, body, None), 422, "roster_malformed")
    assert await tables_checksum(session) == before


async def test_blank_lines_before_a_csv_header_are_bounded(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    before = await tables_checksum(session)
    body = b"\r\n" * 20_000 + csv_body([officer(1)])
    problem = assert_problem(await push(client, p, body, CSV), 422, "roster_malformed")
    assert "blank rows" in problem["detail"]
    assert await tables_checksum(session) == before
    # Within the bound the header is found.
    assert (await push(client, p, b"\r\n" * 500 + csv_body([officer(1)]), CSV)).status_code == 201


async def test_a_header_below_many_blank_rows_within_the_bound_is_found(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    response = await push(client, p, bombs.header_far_down(5_000), XLSX)
    # The one row below the header is read (and rejected: it lacks most fields).
    assert response.status_code == 201, response.text
    assert response.json()["total_rows"] == 1
