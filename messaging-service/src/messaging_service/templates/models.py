"""The template registry: each app's templates as WeChat lists them."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class Template(Base):
    """One template of the mini-program (subscribe) or the service account (template message)."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(Text)  # mp | oa
    template_id: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, server_default="")
    content: Mapped[str] = mapped_column(Text, server_default="")
    example: Mapped[str] = mapped_column(Text, server_default="")
    # one_time | long_term (mini-program), template (service account)
    kind: Mapped[str] = mapped_column(Text)
    # [{"key": "thing1", "type": "thing", "label": "活动名称"}], parsed from the content
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set when a sync no longer finds the template upstream (kept, never deleted).
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("app", "template_id"),)
