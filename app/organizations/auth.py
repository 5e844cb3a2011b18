"""What a key needs for the organizations endpoints."""

from typing import Annotated

from app.core.auth import Principal, require

Admin = Annotated[Principal, require("admin")]
