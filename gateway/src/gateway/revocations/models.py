"""Revoked access the gateway enforces until the tokens concerned expire."""

from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models import Base


class RevokedAccess(Base):
    """Tokens of ``subject`` issued at or before ``revoked_at`` are refused."""

    __tablename__ = "revoked_access"

    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reason: Mapped[str] = mapped_column(Text)
