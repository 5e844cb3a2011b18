"""The access log: who read whose coverage, a record of personal-data processing (UU 27/2022)."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class AccessLogEntry(Base):
    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_nik_id", "nik", "id"),
        Index("ix_access_log_organization_id_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    nik: Mapped[int] = mapped_column(BigInteger)
    endpoint: Mapped[str] = mapped_column(Text)
    registrations: Mapped[int] = mapped_column(Integer, server_default="0")
