"""What a key needs for the coverage endpoints, checked cheaply: the lookup is the hottest path."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from app.core.auth import Principal, bearer, caller_dependency, caller_of, ensure

SCOPE = "coverage:read"


@caller_dependency
async def coverage_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """`require("coverage:read")` without the request's session, with the same answers."""
    return await lookup_reader(request)


async def lookup_reader(request: Request) -> Principal:
    """The caller of a coverage read, from the key in its Authorization header.

    A key verified in the last few seconds comes from the in-process cache of app.core.auth
    with no session at all; only a miss builds one (`caller_of`), where `SessionDep` would
    open, commit and close one around every coverage read.
    """
    principal = await caller_of(request)
    ensure(principal, SCOPE)
    return principal


CoverageReader = Annotated[Principal, Depends(coverage_reader)]
