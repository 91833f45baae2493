"""Projections of campaign-service's facts: periods, registrations, refunds, check-ins, channels."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from metrics_service.models import Base


class PeriodFact(Base):
    """A period as metrics knows it: series, number and calendar."""

    __tablename__ = "period_facts"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    series_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    number: Mapped[int | None] = mapped_column(Integer)
    fee_fen: Mapped[int | None] = mapped_column(Integer)
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_registration_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegistrationFact(Base):
    """One registration and what became of it."""

    __tablename__ = "registration_facts"

    registration_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    series_id: Mapped[int | None] = mapped_column(BigInteger)
    period_id: Mapped[int] = mapped_column(BigInteger, index=True)
    fee_fen: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    channel: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_fen: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_how: Mapped[str | None] = mapped_column(Text)
    refunded_fen: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class RefundFact(Base):
    """A refund issued for a registration."""

    __tablename__ = "refund_facts"

    refund_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    registration_id: Mapped[int] = mapped_column(BigInteger, index=True)
    period_id: Mapped[int] = mapped_column(BigInteger, index=True)
    member_no: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(Text, server_default="issued")


class CheckinFact(Base):
    """A check-in of a member for one local date of a period (deleted when voided)."""

    __tablename__ = "checkin_facts"

    checkin_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_id: Mapped[int] = mapped_column(BigInteger, index=True)
    member_no: Mapped[int] = mapped_column(BigInteger)
    local_date: Mapped[date] = mapped_column(Date)


class ChannelTouch(Base):
    """The first time a member came in through a channel."""

    __tablename__ = "channel_touches"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scene: Mapped[str] = mapped_column(Text)
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FollowFact(Base):
    """Whether and since when a member follows the service account."""

    __tablename__ = "follow_facts"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_followed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_scene: Mapped[str | None] = mapped_column(Text)
    following: Mapped[bool] = mapped_column(server_default=text("true"))
