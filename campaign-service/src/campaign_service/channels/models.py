"""Channels (渠道): scene QR codes and mini-program codes, their touches and members' first touch."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, LargeBinary, Text, func
from sqlalchemy.orm import Mapped, deferred, mapped_column

from campaign_service.models import Base


class Channel(Base):
    """A place people come from, known by a stable code used as the scene of both codes."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    qr_kind: Mapped[str] = mapped_column(Text)  # permanent | temporary
    qr_ticket: Mapped[str | None] = mapped_column(Text)
    qr_url: Mapped[str | None] = mapped_column(Text)
    qr_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mp_page: Mapped[str] = mapped_column(Text, server_default="")
    # The mini-program code image (a few KB); loaded only when asked for.
    wxacode_png: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    created_by_staff_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChannelTouch(Base):
    """One scan, follow or mini-program launch through a channel."""

    __tablename__ = "channel_touches"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    kind: Mapped[str] = mapped_column(Text)  # scan | follow | launch
    member_no: Mapped[int | None] = mapped_column(BigInteger)
    openid: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_channel_touches_channel_kind", "channel_id", "kind"),)


class MemberChannel(Base):
    """A member's first-touch channel: the first scene we saw them come through."""

    __tablename__ = "member_channels"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    scene: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # oa (follow/scan) | mp (launch scene at registration)
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
