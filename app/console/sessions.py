"""Signing in to the console: an API key exchanged once for a session cookie, and CSRF tokens.

The key is verified as the API verifies it (app.core.auth) and never leaves this request: the
browser holds a random session token (HttpOnly, SameSite=Strict, Secure in production) and the
database only its SHA-256. Every request re-reads the session with its key, so revoking the key
ends the session at once. Each form carries a CSRF token derived from the session token; the
sign-in form, before any session exists, a random one doubled in a cookie.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from app.console import repository
from app.core import clock
from app.core.auth import Principal, principal_of_token
from app.core.database import SessionDep
from app.core.errors import AppError, Forbidden, Unauthorized

COOKIE = "perisai_console"
SIGN_IN_COOKIE = "perisai_console_masuk"
COOKIE_PATH = "/console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SIGN_IN_PATH = "/console/masuk"
MAX_KEY_LENGTH = 200


class SignInRequired(Unauthorized):
    """No live session: pages redirect to the sign-in form, scripts get 401."""

    code = "console_sign_in_required"
    title = "Sign in to the console"


class CsrfRefused(AppError):
    status, code, title = 403, "csrf_token_invalid", "The form's CSRF token is missing or wrong"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_of(token: str) -> str:
    return hmac.new(token.encode(), b"perisai-console-csrf", hashlib.sha256).hexdigest()


class ConsoleUser:
    """The signed-in operator: the key's principal, and the session's CSRF token."""

    def __init__(self, principal: Principal, token: str) -> None:
        self.principal = principal
        self.csrf = csrf_of(token)
        self.token = token

    def check_csrf(self, sent: str | None) -> None:
        if not sent or not hmac.compare_digest(sent, self.csrf):
            raise CsrfRefused("Muat ulang halaman dan kirim formulir lagi")


async def current_user(request: Request, session: SessionDep) -> ConsoleUser:
    token = request.cookies.get(COOKIE)
    row = await repository.live_session(session, token_hash(token)) if token else None
    if token is None or row is None:
        raise SignInRequired("Masuk dengan kunci API organisasi Anda")
    key, kind = row
    return ConsoleUser(Principal(key.id, key.organization_id, kind, frozenset(key.scopes)), token)


ConsoleUserDep = Annotated[ConsoleUser, Depends(current_user)]


async def sign_in(request: Request, session: SessionDep, api_key: str) -> tuple[str, Principal]:
    """A new session token for `api_key`, verified as the API verifies keys (401 when not)."""
    settings = request.app.state.settings
    key = api_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        # A header cannot carry such text, but a form can; the database would refuse it.
        raise Unauthorized("The API key is malformed")
    principal = await principal_of_token(session, key, settings.admin_api_key)
    if principal.key_id is None:
        # ADMIN_API_KEY is no row of api_keys: a session could not follow its revocation.
        raise Forbidden(
            "The ADMIN_API_KEY of the environment cannot sign in to the console; use an "
            "organization's API key",
            code="console_admin_key_refused",
        )
    token = secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(hours=settings.console_session_hours)
    await repository.delete_ended_sessions(session)
    await repository.insert_session(
        session, token_hash=token_hash(token), api_key_id=principal.key_id, expires_at=expires
    )
    return token, principal


async def sign_out(session: SessionDep, user: ConsoleUser) -> None:
    await repository.end_session(session, token_hash(user.token))


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.console_session_hours * 3600,
        path=COOKIE_PATH,
        httponly=True,
        secure=settings.environment == "production",
        samesite="strict",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def sign_in_csrf(request: Request) -> str:
    """The sign-in form's token: the one its cookie already holds, or a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def set_sign_in_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        value,
        max_age=3600,
        path=COOKIE_PATH,
        httponly=True,
        secure=request.app.state.settings.environment == "production",
        samesite="strict",
    )


def check_sign_in_csrf(request: Request, sent: str | None) -> None:
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRefused("Muat ulang halaman masuk dan coba lagi")


# The first page a key may open, for where to land after signing in.
HOMES = (
    ("agreements:read", "/console/perjanjian"),
    ("claims:review", "/console/klaim"),
    ("claims:write", "/console/klaim"),
    ("coverage:read", "/console/cek"),
    ("registrations:read", "/console/ditahan"),
)


def home_of(principal: Principal) -> str:
    return next((path for scope, path in HOMES if principal.has(scope)), "/console/perjanjian")


def safe_next(path: str | None) -> str | None:
    """Where to go after signing in: a console path of this site, never another host."""
    if path and path.startswith("/console/") and not path.startswith("//") and "\\" not in path:
        return path
    return None


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGN_IN_PATH}?lanjut={quote(target, safe='')}"
