"""Series (themes) and their numbered periods."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base

PERIOD_STATES = ("draft", "open", "running", "closed", "settled")


class Series(Base):
    """A campaign theme (系列), run as numbered periods."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Period(Base):
    """One numbered run (期) of a series."""

    __tablename__ = "periods"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="draft")
    registration_opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registration_closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(Text, server_default="Asia/Shanghai")
    capacity: Mapped[int] = mapped_column(Integer)
    # Places held or confirmed; changed only by conditional UPDATEs (see registrations.repository).
    taken: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    fee_fen: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Registration stays open while the period runs (until registration_closes_at).
    late_join: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Once closed, refunds go out by themselves; otherwise they wait for staff to start settlement.
    auto_settle: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # "HH:MM" in Asia/Shanghai: when members are reminded to check in (messaging reads it from the events).
    reminder_time: Mapped[str | None] = mapped_column(Text)
    checkin_plan: Mapped[dict] = mapped_column(JSONB)
    refund_rule: Mapped[dict] = mapped_column(JSONB)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        CheckConstraint("reminder_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'", name="reminder_time_hh_mm"),
        CheckConstraint(
            "state IN ('draft','open','running','closed','settled','cancelled')", name="state_known"
        ),
    )


class PeriodTransition(Base):
    """One move of a period (or a postponement): from where to where, when, by whom or what."""

    __tablename__ = "period_transitions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    from_state: Mapped[str] = mapped_column(Text)
    to_state: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # "staff" (by_id = staff id) or "scheduler" / "settlement" (by_id null).
    by_kind: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
