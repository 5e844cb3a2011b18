"""The rate limits' shared counts (app.core.ratelimit): one row per limit, name and window."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class RateLimitWindow(Base):
    __tablename__ = "rate_limit_windows"
    __table_args__ = (CheckConstraint("hits >= 0", name="hits"), {"prefixes": ["UNLOGGED"]})

    limit_name: Mapped[str] = mapped_column(Text, primary_key=True)  # "key/60", "failed_auth/60"
    name: Mapped[str] = mapped_column(Text, primary_key=True)  # a key's owner, an address
    window_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(BigInteger)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
