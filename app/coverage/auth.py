"""What a key needs for the coverage endpoints, checked cheaply: the lookup is the hottest path."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from app.core.auth import Principal, bearer, cached_principal, ensure, principal_of_token
from app.core.errors import Unauthorized

SCOPE = "coverage:read"
MISSING_KEY = "Send an API key as `Authorization: Bearer <key>`"


async def coverage_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """`require("coverage:read")` without the request's session, with the same answers."""
    return await lookup_reader(request, credentials.credentials if credentials else None)


async def lookup_reader(request: Request, token: str | None) -> Principal:
    """The caller of a coverage read, from the key in its Authorization header.

    A key verified in the last few seconds comes from the in-process cache of app.core.auth
    with no session at all; only a miss builds one (and closes it if it was used), where
    `SessionDep` would open, commit and close one around every coverage read.
    """
    if token is None:
        raise Unauthorized(MISSING_KEY)
    principal = cached_principal(token)
    if principal is None:
        state = request.app.state
        session = state.sessionmaker()
        try:
            principal = await principal_of_token(session, token, state.settings.admin_api_key)
        finally:
            if session.in_transaction():
                await session.close()
    ensure(principal, SCOPE)
    return principal


CoverageReader = Annotated[Principal, Depends(coverage_reader)]
