"""Signing a delivery as the Standard Webhooks specification says, with its own package."""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix the specification gives secrets)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(
    *, message_id: str, body: str, secrets_: list[str], at: datetime | None = None
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (one `v1,` signature per
    secret, space-separated: both sign during a rotation)."""
    # The package reads the datetime's fields as UTC (it replaces the zone), so give it UTC.
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    signatures = [Webhook(s).sign(message_id, moment, body) for s in secrets_]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
