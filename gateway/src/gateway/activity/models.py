"""What the gateway remembers of activity items: the client event ids already recorded."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models import Base


class ReceivedActivity(Base):
    """An item whose client ``event_id`` was recorded (a retried batch publishes it once)."""

    __tablename__ = "received_activity"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
