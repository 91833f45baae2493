"""Local projections of who a member is on WeChat: openids, follows, the blocklist."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class Openid(Base):
    """An openid of one app; ``member_no`` once identity has told us whose it is."""

    __tablename__ = "openids"

    openid: Mapped[str] = mapped_column(Text, primary_key=True)
    app: Mapped[str] = mapped_column(Text)  # mp | oa
    member_no: Mapped[int | None] = mapped_column(BigInteger)
    # Service account only: follows now (from the pushes, which come first, and identity's events).
    following: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    followed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unfollowed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_openids_member_no_app", "member_no", "app"),)


class BlockedMember(Base):
    """A member on tagging's blocklist: no marketing sends."""

    __tablename__ = "blocked_members"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    blocked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
