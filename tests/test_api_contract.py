"""Schemathesis against the app's own OpenAPI schema: no 5xx, and responses match the schema.

The app runs under a real uvicorn on a free port against the session's database; what the
generated requests create is committed, then truncated when the test ends.
"""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import hypothesis
import pytest
import schemathesis
import uvicorn
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from tests.conftest import ADMIN_KEY, app_settings, truncate_non_reference_tables

EXAMPLES_PER_OPERATION = 20
HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_started(server: uvicorn.Server, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
async def live_url(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(app_settings(database_url)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    await asyncio.to_thread(wait_until_started, server)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        await truncate_non_reference_tables(engine)


def fuzz_operations(base_url: str) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the schema has an invalid operation: {result.err()}")
            continue
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=base_url, headers=HEADERS)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            check()
        except Exception as error:  # collected so one run reports every operation that fails
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    return failures


async def test_api_honours_its_schema(live_url: str) -> None:
    failures = await asyncio.to_thread(fuzz_operations, live_url)
    assert not failures, "\n\n".join(failures)
