"""Console sessions: a signed-in operator's browser, bound to the API key it signed in with.

Only the SHA-256 of the session token is kept; the token lives in the browser's cookie. A
session ends when it expires, when it is signed out (`revoked_at`), or when its key is revoked
(checked on every request by joining the key). The checks are the migration's: a session
expires after it was made, and the hash is 32 bytes.
"""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()")
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
