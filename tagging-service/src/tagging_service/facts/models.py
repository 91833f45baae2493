"""Member facts: tagging's own projection of identity, campaign and mini-program events."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from tagging_service.models import Base


class MemberFact(Base):
    """One row per member: who they are to us."""

    __tablename__ = "member_facts"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    follows_oa: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    has_phone: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    phone_masked: Mapped[str | None] = mapped_column(Text)
    # The full number as identity sealed it (shared.sealing); opened only for roles that may see phones.
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    first_channel: Mapped[str | None] = mapped_column(Text)
    last_active_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when identity merged this member into another (the survivor).
    merged_into: Mapped[int | None] = mapped_column(BigInteger)


class PeriodInfo(Base):
    """Which series a period belongs to (from campaign events)."""

    __tablename__ = "period_info"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    series_id: Mapped[int] = mapped_column(BigInteger)


class MemberPeriod(Base):
    """A member's registration in a period: registered, paid, refunded."""

    __tablename__ = "member_periods"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_fen: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    channel: Mapped[str | None] = mapped_column(Text)
    # The last few events behind the row, newest first (evidence of rule applications; bounded).
    event_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'::uuid[]"))


class MemberCheckin(Base):
    """One check-in (voided ones are kept, flagged)."""

    __tablename__ = "member_checkins"

    checkin_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    period_id: Mapped[int] = mapped_column(BigInteger)
    local_date: Mapped[date] = mapped_column(Date)
    voided: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The event that recorded it (evidence of rule applications).
    event_id: Mapped[UUID | None] = mapped_column(Uuid)


class Community(Base):
    """A WeChat group (openGId) and the period it is linked to, as last reported by campaign."""

    __tablename__ = "communities"

    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open_gid: Mapped[str] = mapped_column(Text)
    period_id: Mapped[int | None] = mapped_column(BigInteger)


class GroupSighting(Base):
    """A member seen in a group: first and last time, how often."""

    __tablename__ = "group_sightings"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sightings: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # The last few events behind the row, newest first (evidence of rule applications; bounded).
    event_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'::uuid[]"))


class DailyActivity(Base):
    """Per member, day (Asia/Shanghai) and kind: how many items and how long."""

    __tablename__ = "daily_activity"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    items: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    duration_ms: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # The last few events behind the row, newest first (evidence of rule applications; bounded).
    event_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'::uuid[]"))


class DailyQuiz(Base):
    """Per member, day, series and period (0: not given): quiz answers and wrong answers.

    An answer naming only its period is resolved to the series when evaluated (``period_info``).
    """

    __tablename__ = "daily_quiz"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, server_default=text("0"))
    answers: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    wrong: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The last few events behind the row, newest first (evidence of rule applications; bounded).
    event_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'::uuid[]"))

    __table_args__ = (Index("ix_daily_quiz_series_day", "series_id", "day"),)


class ActivitySeen(Base):
    """A client-supplied activity id already counted (a retried batch counts once)."""

    __tablename__ = "activity_seen"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client_event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class TimelineEntry(Base):
    """One item of a member's timeline that the projection keeps (events, tags)."""

    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    member_no: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    event_id: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_timeline_entries_member_at", "member_no", "at", "id"),)
