"""Fixtures of the agreement tests."""

import httpx
import pytest

from tests.agreements.helpers import Parties, parties


@pytest.fixture
async def p(client: httpx.AsyncClient) -> Parties:
    return await parties(client)
