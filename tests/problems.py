"""The one check of an RFC 9457 problem answer."""

from typing import Any

import httpx

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """`response` is a problem+json of `status` and `code` with every field, and no stack trace;
    returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status and body["code"] == code, body
    assert "Traceback" not in response.text
    return body
