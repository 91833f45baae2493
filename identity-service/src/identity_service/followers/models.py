"""Service-account follow state, one row per (appid, openid)."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.models import Base


class Follower(Base):
    """Whether an openid follows a service account, since when and from which scene."""

    __tablename__ = "followers"

    appid: Mapped[str] = mapped_column(Text, primary_key=True)
    openid: Mapped[str] = mapped_column(Text, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    subscribed: Mapped[bool] = mapped_column(Boolean)
    first_subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The scene of the follow itself (channel QR code), without the "qrscene_" prefix.
    subscribe_scene: Mapped[str | None] = mapped_column(Text)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_scan_scene: Mapped[str | None] = mapped_column(Text)
    last_scanned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # WeChat's CreateTime of the newest event applied: older (late) events are ignored.
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
