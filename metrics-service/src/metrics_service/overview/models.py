"""Projection tables of the overview metrics."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from metrics_service.models import Base


class MemberFact(Base):
    """One row per member as metrics knows it: when and where they first appeared."""

    __tablename__ = "member_facts"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_seen_date: Mapped[date] = mapped_column(Date, index=True)
    first_app: Mapped[str] = mapped_column(Text)
    channel_scene: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[int | None] = mapped_column(BigInteger)

    # The few merged members, so the member total never counts the whole table.
    __table_args__ = (Index("ix_member_facts_merged", "member_no", postgresql_where=text("merged_into IS NOT NULL")),)


class DailyCounter(Base):
    """A per-day count of one kind (new members, follows ...), local calendar date."""

    __tablename__ = "daily_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
