"""What a key needs for the agreements endpoints."""

from typing import Annotated

from app.core.auth import Principal, require

AgreementsRead = Annotated[Principal, require("agreements:read")]
AgreementsWrite = Annotated[Principal, require("agreements:write")]
