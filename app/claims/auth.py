"""What a key needs for the claims endpoints."""

from typing import Annotated

from app.core.auth import Principal, require, require_any

ClaimsFile = Annotated[Principal, require("claims:write")]
ClaimsReview = Annotated[Principal, require("claims:review")]
# Reading a claim and adding its documents: whoever files or reviews claims.
ClaimsRead = Annotated[Principal, require_any("claims:write", "claims:review")]
