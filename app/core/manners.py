"""HTTP manners partners expect: what each answer says about caching, methods, compression
and other origins. The request middleware (app.core.observability) applies the per-response
parts and compression; app/main.py installs CORS and the OPTIONS answers with
`install_manners`."""

import gzip
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Scope

from app.core.errors import problem_response
from app.core.ratelimit import RATE_HEADERS_KEY
from app.core.settings import Settings

NO_STORE = (b"cache-control", b"no-store")
GZIP_LEVEL = 5
ACCEPTS_GZIP = "accepts_gzip"  # the request's state, set by the request middleware
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a browser on another origin may send and read (when CORS_ORIGINS allows it).
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-Id",
)
CORS_RESPONSE_HEADERS = (
    "ETag",
    "Location",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "X-Request-Id",
    "Idempotent-Replayed",
    "Accept-Post",
)
CORS_METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS")


def response_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
    """Add the rate-limit headers of the caller and, on routes that carry personal data
    (app.core.routing.NO_STORE_TAGS), `Cache-Control: no-store`."""
    rate: list[tuple[bytes, bytes]] | None = scope.get(RATE_HEADERS_KEY)
    if rate is not None:
        headers.extend(rate)
    if getattr(scope.get("route"), "no_store", False):
        for index, (name, _) in enumerate(headers):
            if name == b"cache-control":  # Starlette's responses name their headers in lowercase
                headers[index] = NO_STORE
                return
        headers.append(NO_STORE)


# ---------------------------------------------------------------- If-None-Match


def matches_etag(if_none_match: bytes, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the answer's ETag is one the client holds (weak comparison, RFC 9110 13.1.2)."""
    etag = next((value for name, value in headers if name.lower() == b"etag"), None)
    if etag is None:
        return False
    if if_none_match.strip() == b"*":
        return True
    held = {_opaque(tag) for tag in if_none_match.split(b",")}
    return _opaque(etag) in held


def _opaque(tag: bytes) -> bytes:
    return tag.strip().removeprefix(b"W/")


KEPT_ON_304 = frozenset({b"etag", b"cache-control", b"vary", b"x-request-id", b"ratelimit"})


def not_modified(message: Message) -> Message:
    """A 200's start turned into a 304's, with the headers RFC 9110 15.4.5 keeps."""
    headers = [
        (name, value)
        for name, value in message["headers"]
        if name.lower() in KEPT_ON_304 or name.lower().startswith(b"ratelimit")
    ]
    return {**message, "status": 304, "headers": headers}


# ---------------------------------------------------------------- Allow


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """The methods of the resource at the request's path (for OPTIONS and 405's Allow): the
    routes whose path it is, or when none is written out (`/v1/coverage/checks`), those whose
    template it fits (`/v1/coverage/{nik}`)."""
    literal: set[str] = set()
    templated: set[str] = set()
    probe = {**scope, "method": "GET"}
    for route in iter_route_contexts(app.routes):
        route_methods = route.methods
        if route_methods and route.matches(probe)[0] != Match.NONE:
            (templated if "{" in str(route.path) else literal).update(route_methods)
    methods = literal or templated
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """OPTIONS answers 204 with every method of the path; another method not served there
    gets 405 with the same Allow (Starlette's names only the first route matched)."""
    allow = ", ".join(allowed_methods(request.app, request.scope))
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": allow})
    detail = exc.detail if isinstance(exc, HTTPException) else "Method not allowed"
    return problem_response(
        405, "method_not_allowed", "Method not allowed", detail, headers={"Allow": allow}
    )


# ---------------------------------------------------------------- compression and CORS


def compression(app: ASGIApp, *, minimum_size: int) -> ASGIApp:
    """Starlette's gzip for answers of `minimum_size` bytes or more; the request middleware
    sends only requests that accept gzip through it, so the others (the coverage lookups of a
    client that does not ask) pay nothing for it. Streaming answers are compressed chunk by
    chunk; XLSX (a zip already) is left alone."""
    excluded = (*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX)
    return GZipMiddleware(
        app, minimum_size=minimum_size, compresslevel=GZIP_LEVEL, exclude_content_types=excluded
    )


def accepts_gzip(request: Request) -> bool:
    """Whether the request middleware found that the client accepts gzip."""
    return bool(getattr(request.state, ACCEPTS_GZIP, False))


def gzipped(body: bytes, minimum_size: int) -> bytes | None:
    """`body` compressed as the middleware would (None when it is too small to be worth it),
    for an answer made where the middleware is not: a worker's."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL) if len(body) >= minimum_size else None


def install_manners(app: FastAPI, settings: Settings) -> None:
    """OPTIONS and 405 answers, and CORS when CORS_ORIGINS names origins (off by default).
    Call before adding the request middleware, which must stay the outermost."""
    app.add_exception_handler(405, method_not_allowed)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
