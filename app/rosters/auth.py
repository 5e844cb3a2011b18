"""What a key needs for the rosters endpoints."""

from typing import Annotated

from app.core.auth import Principal, require, require_any

RostersWrite = Annotated[Principal, require("rosters:write")]
BatchRead = Annotated[Principal, require_any("rosters:write", "registrations:read")]
# Problem rows hold NIKs and names: the uploader, or a key allowed to read personal data.
BatchProblemsRead = Annotated[Principal, require_any("rosters:write", "pii:read")]
