"""Refunds computed when a period closes."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base

# not_due: nothing to refund (free period or rate too low); terminal.
# held: due, waiting for staff to start the settlement (periods without auto_settle).
# pending: to be requested (again); processing: accepted by WeChat Pay, awaiting confirmation.
REFUND_STATES = ("not_due", "held", "pending", "processing", "succeeded", "failed")


class Refund(Base):
    """The settlement of one registration: its rate and the refund it earned."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    out_trade_no: Mapped[str | None] = mapped_column(Text)
    # Deterministic: derived from the registration, so a repeated request is the same refund.
    out_refund_no: Mapped[str] = mapped_column(Text, unique=True)
    fee_fen: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    checked_days: Mapped[int] = mapped_column(Integer)
    planned_days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)
    wechat_refund_id: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_refunds_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),)
