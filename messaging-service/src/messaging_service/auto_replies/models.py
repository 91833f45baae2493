"""Keyword auto-replies: what the service account answers a user's message with."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class AutoReply(Base):
    """One keyword rule."""

    __tablename__ = "auto_replies"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    keyword: Mapped[str] = mapped_column(Text)
    match: Mapped[str] = mapped_column(Text, server_default="exact")
    app: Mapped[str] = mapped_column(Text, server_default="all")
    reply: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    __table_args__ = (UniqueConstraint("keyword", "match", "app"),)
