"""What a key needs for the webhook endpoints: managing them, reading them included."""

from typing import Annotated

from app.core.auth import Principal, require

WebhooksWrite = Annotated[Principal, require("webhooks:write")]
