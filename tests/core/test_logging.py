"""Log lines: time with milliseconds and zone, the caller's key and organization ids, the
route template (also for /docs and /openapi.json), the request id on error lines, client
request ids that could carry personal data replaced, and the banner's keys kept out of logs."""

import io
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.cli import announce
from app.core.observability import JsonFormatter
from app.core.settings import Settings
from tests.factories import issue_key, organization_id

Lines = Callable[[], list[dict[str, Any]]]
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)")


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    """The JSON lines the service's loggers write while the test runs."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("perisai")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def access_lines(lines: Lines) -> list[dict[str, Any]]:
    return [line for line in lines() if line["logger"] == "perisai.access"]


async def test_access_lines_name_the_caller_never_the_key(
    client: httpx.AsyncClient, log_lines: Lines
) -> None:
    caller = await issue_key(client, await organization_id(client, "integrator"), ["coverage:read"])
    await client.get("/v1/coverage/1209185705900001", headers=caller.headers)
    await client.get("/v1/registrations")  # no key: no caller
    lookup, anonymous = access_lines(log_lines)[-2:]
    assert lookup["route"] == "/v1/coverage/{nik}" and lookup["status"] == 200
    assert lookup["key_id"] == caller.key_id
    assert lookup["organization_id"] == caller.organization_id
    assert TIME.fullmatch(lookup["time"]), lookup["time"]
    assert "key_id" not in anonymous and anonymous["status"] == 401
    text = str(log_lines())
    token = caller.headers["Authorization"].removeprefix("Bearer ")
    assert token not in text and token.split(".")[1] not in text
    assert "1209185705900001" not in text


async def test_docs_and_openapi_have_their_routes(
    client: httpx.AsyncClient, log_lines: Lines
) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await client.get(path)).status_code == 200
    routes = [line["route"] for line in access_lines(log_lines)]
    assert routes == ["/openapi.json", "/docs", "/redoc"]


async def test_error_lines_carry_the_request_id(app: FastAPI, log_lines: Lines) -> None:
    quoted = " ".join(["Ani", "Setiawan", "1209" + "185705900001"])

    async def boom() -> None:
        raise RuntimeError(quoted)  # a message quoting personal data

    app.add_api_route("/v1/test-boom", boom)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/test-boom", headers={"X-Request-Id": "partner-42"})
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.headers["x-request-id"] == "partner-42"
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert errors and all(line["request_id"] == "partner-42" for line in errors)
    assert "1209185705900001" not in str(log_lines()) and "Ani" not in str(log_lines())
    assert access_lines(log_lines)[-1]["status"] == 500


@pytest.mark.parametrize(
    "sent",
    [
        b"1209185705900001",  # a NIK
        b"req-1209185705900001-x",  # one inside
        b"a" * 65,
        b"caf\xc3\xa9",  # not ASCII
        b"bad id",  # a space
        b"tab\x7f",
    ],
)
async def test_client_request_ids_that_could_carry_data_are_replaced(
    client: httpx.AsyncClient, log_lines: Lines, sent: bytes
) -> None:
    response = await client.get("/healthz", headers=[(b"X-Request-Id", sent)])
    made = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    line = access_lines(log_lines)[-1]
    assert line["request_id"] == made
    assert sent.decode("latin-1") not in str(log_lines())


async def test_usable_client_request_ids_are_kept(client: httpx.AsyncClient) -> None:
    for sent in ("abc-123", "trace_01.HX:7", "9" * 15, "f" * 64):
        response = await client.get("/healthz", headers={"X-Request-Id": sent})
        assert response.headers["x-request-id"] == sent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_banner_shows_demo_keys_on_a_terminal_only(tmp_path: Path, log_lines: Lines) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    lines = ["demo key (BPJS Cabang Kisaran): prs_0123456789.secret-part"]
    terminal = Terminal()
    announce(settings, lines, demo=True, stream=terminal)
    assert "prs_0123456789.secret-part" in terminal.getvalue()
    assert "/docs" in terminal.getvalue()
    assert log_lines() == []

    piped = io.StringIO()  # a container's log, a file
    announce(settings, lines, demo=True, stream=piped)
    assert piped.getvalue() == ""
    (line,) = log_lines()
    assert line["message"] == "serving"
    assert line["demo_keys_file"] == str(tmp_path / "demo-keys.json")
    assert "secret-part" not in str(line)
