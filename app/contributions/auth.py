"""What a key needs for the contributions endpoints."""

from typing import Annotated

from app.core.auth import Principal, require

ReportsRead = Annotated[Principal, require("reports:read")]
# Recording a payment is a write about the agreement.
PaymentsWrite = Annotated[Principal, require("agreements:write")]
