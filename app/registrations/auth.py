"""What a key needs for the registrations endpoints."""

from typing import Annotated

from app.core.auth import Principal, require, require_any

RegistrationsRead = Annotated[Principal, require("registrations:read")]
# The counterpart ends its officers' registrations, the BPJS branch ends them too.
RegistrationsTerminate = Annotated[Principal, require_any("rosters:write", "agreements:write")]
# Resolving a held registration and setting KPJ numbers are the branch's decisions about its
# agreement, so the agreement-writing scope.
RegistrationsResolve = Annotated[Principal, require("agreements:write")]
KpjWrite = Annotated[Principal, require("agreements:write")]
