"""What the gateway remembers of WeChat's pushes: enough to dedupe retries."""

from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models import Base


class ReceivedPush(Base):
    """A push already accepted (WeChat retries a push it got no answer for)."""

    __tablename__ = "received_pushes"

    dedupe_key: Mapped[str] = mapped_column(Text, primary_key=True)
    app: Mapped[str] = mapped_column(Text)
    openid: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class ReceivedPayNotification(Base):
    """A WeChat Pay notification already accepted (deduped by notification id)."""

    __tablename__ = "received_pay_notifications"

    notification_id: Mapped[str] = mapped_column(Text, primary_key=True)
    event_type: Mapped[str] = mapped_column(Text)
    out_trade_no: Mapped[str] = mapped_column(Text, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
