"""What messaging projects from campaign events to write on its own: periods, registrants, check-ins."""

from datetime import date, datetime, time

from sqlalchemy import BigInteger, Date, DateTime, Index, Text, Time, func
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class PeriodState(Base):
    """A period as campaign announced it (opened → closed)."""

    __tablename__ = "campaign_periods"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # open | closed
    # The first local date a check-in was seen: the period has started (campaign's events carry no dates).
    first_checkin_date: Mapped[date | None] = mapped_column(Date)
    # campaign.period.started: the moment and the local date its first day began.
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_on: Mapped[date | None] = mapped_column(Date)
    series_id: Mapped[int | None] = mapped_column(BigInteger)
    number: Mapped[int | None] = mapped_column(BigInteger)
    # The period's own check-in reminder time (local, "HH:MM" in campaign's events); null: the setting.
    reminder_time: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Registrant(Base):
    """A member registered (and, for paid periods, paid) for a period."""

    __tablename__ = "campaign_registrants"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # awaiting_payment | confirmed | cancelled


class CheckinDay(Base):
    """A member checked in for one local date of a period."""

    __tablename__ = "campaign_checkins"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = (Index("ix_campaign_checkins_period_id_local_date", "period_id", "local_date"),)
