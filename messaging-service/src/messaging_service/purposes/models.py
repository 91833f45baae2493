"""Purposes: a named reason to write to a member, with its class and channels."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class Purpose(Base):
    """``checkin.reminder``, ``refund.notice``, ``broadcast.<name>`` …"""

    __tablename__ = "purposes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    message_class: Mapped[str] = mapped_column(Text)  # transactional | marketing
    # Ordered: [{"channel": "subscribe", "template_id": …, "fields": {"thing1": "{title}"}, …}]
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # Marketing sends per member per local day (null: the service default).
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    max_staleness_minutes: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
