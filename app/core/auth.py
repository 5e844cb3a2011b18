"""API keys: issuing, hashing, verifying, and the scopes a request needs."""

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, get_args

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import SecretStr
from sqlalchemy import select

from app.core.database import SessionDep
from app.core.errors import Forbidden, Unauthorized
from app.core.ratelimit import RATE_HEADERS_KEY, RateLimits
from app.models import ApiKey, Organization, OrganizationKind

Scope = Literal[
    "admin",
    "agreements:write",
    "agreements:read",
    "rosters:write",
    "registrations:read",
    "coverage:read",
    "pii:read",
    "claims:write",
    "claims:review",
    "reports:read",
]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_PREFIX = "prs_"
PREFIX_LENGTH = 10
CACHE_SECONDS = 10.0
MISSING_KEY = "Send an API key as `Authorization: Bearer <key>`"
# Where the request's caller waits, once known, for the other dependencies and the log line.
CALLER_KEY = "perisai.caller"

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer prs_...`")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its organization and what it may do."""

    key_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    organization_kind: str
    scopes: frozenset[str]

    @property
    def is_operator(self) -> bool:
        return self.organization_kind == OrganizationKind.OPERATOR or "admin" in self.scopes

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    @property
    def owner(self) -> str:
        return str(self.key_id) if self.key_id else "admin"


ADMIN_PRINCIPAL = Principal(None, None, OrganizationKind.OPERATOR, frozenset({"admin"}))


@dataclass(frozen=True, slots=True)
class IssuedKey:
    prefix: str
    secret: str
    secret_hash: bytes

    @property
    def token(self) -> str:
        return f"{KEY_PREFIX}{self.prefix}.{self.secret}"


def issue_key() -> IssuedKey:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(prefix, secret, hash_secret(secret))


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_token(token: str) -> tuple[str, str] | None:
    if not token.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = token[len(KEY_PREFIX) :].partition(".")
    if len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix, secret


# token hash -> (expiry, principal); verified keys are reused briefly to spare the hot paths.
_cache: dict[bytes, tuple[float, Principal]] = {}


def forget_key(key_id: uuid.UUID) -> None:
    for token_hash, (_, principal) in list(_cache.items()):
        if principal.key_id == key_id:
            _cache.pop(token_hash, None)


def bearer_token(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, read as `bearer` reads it."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not credentials or scheme.lower() != "bearer":
        return None
    return credentials


def cached_principal(token: str) -> Principal | None:
    """The principal of a key verified in the last CACHE_SECONDS, without the database."""
    cached = _cache.get(hashlib.sha256(token.encode()).digest())
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return None


async def principal_of_token(
    session: SessionDep, token: str, admin_key: SecretStr | None
) -> Principal:
    token_hash = hashlib.sha256(token.encode()).digest()
    cached = _cache.get(token_hash)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    principal = await _verify_token(session, token, admin_key)
    _cache[token_hash] = (time.monotonic() + CACHE_SECONDS, principal)
    return principal


async def _verify_token(session: SessionDep, token: str, admin_key: SecretStr | None) -> Principal:
    if admin_key and hmac.compare_digest(token.encode(), admin_key.get_secret_value().encode()):
        return ADMIN_PRINCIPAL
    parts = split_token(token)
    if parts is None:
        raise Unauthorized("The API key is malformed")
    prefix, secret = parts
    row = (
        await session.execute(
            select(ApiKey, Organization.kind)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(ApiKey.prefix == prefix)
        )
    ).first()
    if row is None or not hmac.compare_digest(row[0].secret_hash, hash_secret(secret)):
        raise Unauthorized("The API key is not valid")
    key, kind = row
    if key.revoked_at is not None:
        raise Unauthorized("The API key has been revoked", code="key_revoked")
    return Principal(key.id, key.organization_id, kind, frozenset(key.scopes))


def client_address(request: Request) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


async def identify(
    request: Request, token: str | None, verify: Callable[[Request, str], Awaitable[Principal]]
) -> Principal:
    """The caller of the request, once per request, and its rate limit counted.

    A key not verified lately is checked with `verify`; before that, an address that has
    failed too often lately gets 429, and each failure counts against it. A cached key (a
    valid one) skips that check, so failing clients do not slow valid keys.
    """
    known: Principal | None = request.scope.get(CALLER_KEY)
    if known is not None:
        return known
    if token is None:
        raise Unauthorized(MISSING_KEY)
    limits: RateLimits = request.app.state.rate_limits
    principal = cached_principal(token)
    if principal is None:
        address = client_address(request)
        limits.refuse_failing_address(address)
        try:
            principal = await verify(request, token)
        except Unauthorized:
            limits.note_failure(address)
            raise
    request.scope[RATE_HEADERS_KEY] = limits.admit(principal.owner)
    request.scope[CALLER_KEY] = principal
    return principal


async def caller_of(request: Request) -> Principal:
    """The caller from the Authorization header; a key not cached is verified on a session of
    its own (closed at once), for callers that hold none: the coverage lookup, and routes
    that must know the caller before they read a body."""
    token = bearer_token(request.headers.get("authorization"))
    return await identify(request, token, _verify_on_own_session)


async def _verify_on_own_session(request: Request, token: str) -> Principal:
    state = request.app.state
    session = state.sessionmaker()
    try:
        return await principal_of_token(session, token, state.settings.admin_api_key)
    finally:
        if session.in_transaction():
            await session.close()


# Dependencies that establish the caller: a route with a body and one of them learns its
# caller before reading the body (app.core.routing).
CALLER_DEPENDENCIES: set[Callable[..., Any]] = set()
_F = TypeVar("_F", bound=Callable[..., Any])


def caller_dependency(function: _F) -> _F:
    CALLER_DEPENDENCIES.add(function)
    return function


@caller_dependency
async def authenticate(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    admin_key = request.app.state.settings.admin_api_key

    async def verify(_: Request, token: str) -> Principal:
        return await principal_of_token(session, token, admin_key)

    return await identify(request, token, verify)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def ensure(principal: Principal, *scopes: str) -> None:
    """403 `missing_scope` unless the caller holds every one of `scopes`."""
    for scope in scopes:
        if not principal.has(scope):
            missing = [scope for scope in scopes if not principal.has(scope)]
            raise Forbidden(f"This key lacks the scope {', '.join(missing)}", code="missing_scope")


def ensure_any(principal: Principal, *scopes: str) -> None:
    """403 `missing_scope` unless the caller holds at least one of `scopes`."""
    if not any(principal.has(scope) for scope in scopes):
        raise Forbidden(f"This key lacks the scope {' or '.join(scopes)}", code="missing_scope")


def _dependency(name: str, check: Callable[..., Coroutine[Any, Any, Principal]]) -> Any:
    check.__name__ = name.replace(":", "_")
    return Depends(check)


def require(*scopes: str) -> Any:
    """A dependency giving the caller's Principal once it holds every one of `scopes`; each
    domain's auth.py names its uses: `AgreementsWrite = Annotated[Principal, require(...)]`."""

    async def check(principal: PrincipalDep) -> Principal:
        ensure(principal, *scopes)
        return principal

    return _dependency("require_" + "_".join(scopes), check)


def require_any(*scopes: str) -> Any:
    """A dependency giving the caller's Principal once it holds at least one of `scopes`."""

    async def check(principal: PrincipalDep) -> Principal:
        ensure_any(principal, *scopes)
        return principal

    return _dependency("require_any_" + "_".join(scopes), check)
