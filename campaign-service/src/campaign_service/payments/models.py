"""WeChat Pay orders of paid registrations."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base

# closed: closed at WeChat Pay because its registration was cancelled before payment.
ORDER_STATES = ("created", "paid", "expired", "closed")


class Order(Base):
    """One JSAPI order; ``out_trade_no`` is ours and unique."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    period_id: Mapped[int] = mapped_column(BigInteger)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    out_trade_no: Mapped[str] = mapped_column(Text, unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text, server_default="created")
    prepay_id: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_orders_pending_expiry", "expires_at", postgresql_where=text("state = 'created'")),
    )
