"""The reach ledger: subscribe credits, customer-service windows, the daily cap."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class SubscribeCredit(Base):
    """Sends left of one subscribe template for one mini-program openid (WeChat offers no API to read it)."""

    __tablename__ = "subscribe_credits"

    openid: Mapped[str] = mapped_column(Text, primary_key=True)
    template_id: Mapped[str] = mapped_column(Text, primary_key=True)
    credits: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    long_term: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    accepted_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_decision: Mapped[str | None] = mapped_column(Text)
    # Why the credits were last zeroed (a 43101, a settings change).
    zeroed_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("credits >= 0", name="credits_non_negative"),)


class SubscribeDecision(Base):
    """Each accept / reject of a popup or a settings change, as pushed."""

    __tablename__ = "subscribe_decisions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(Text, index=True)
    template_id: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # subscribe_msg_popup_event | subscribe_msg_change_event
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CsWindow(Base):
    """A customer-service window an interaction opened: ``lim`` sends (null: unlimited) until ``expires_at``."""

    __tablename__ = "cs_windows"

    openid: Mapped[str] = mapped_column(Text, primary_key=True)
    app: Mapped[str] = mapped_column(Text, primary_key=True)
    interaction: Mapped[str] = mapped_column(Text, primary_key=True)  # message | event | payment | session
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lim: Mapped[int | None] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class DailyCap(Base):
    """Marketing sends of a member on one local (Asia/Shanghai) day, across every channel."""

    __tablename__ = "daily_caps"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Integer, server_default=text("0"))
