"""The access-token cache: one row per appid, shared by every replica."""

from datetime import datetime

from sqlalchemy import DateTime, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.models import Base


class AccessToken(Base):
    """The current WeChat access token of one app."""

    __tablename__ = "wechat_access_tokens"

    appid: Mapped[str] = mapped_column(Text, primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    refresh_count: Mapped[int] = mapped_column(Integer, server_default=text("1"))
