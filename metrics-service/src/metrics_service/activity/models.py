"""Daily rollups of activity: one row per member and day, events per hour, openids."""

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, LargeBinary, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from metrics_service.models import Base


class MemberDay(Base):
    """What one member did on one local day: every active-day figure reads these rows."""

    __tablename__ = "member_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Every recorded event of the member that day.
    events: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Mini-program telemetry and check-ins (definitions: active in the mini-program).
    mp_events: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    dwell_ms: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))

    __table_args__ = (Index("ix_member_days_member_day", "member_no", "day"),)


class ActivityHour(Base):
    """Mini-program events per local day and hour (the heatmap's rollup)."""

    __tablename__ = "activity_hours"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class MemberOpenid(Base):
    """An openid identity announced, so service-account pushes resolve to a member."""

    __tablename__ = "member_openids"

    openid: Mapped[str] = mapped_column(Text, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)


class DayBitmap(Base):
    """The members of one kind (active, active in the mini-program, new) on one local day, as a Roaring bitmap."""

    __tablename__ = "day_bitmaps"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    members: Mapped[bytes] = mapped_column(LargeBinary)
    cardinality: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class SpanBitmap(Base):
    """The members of one kind in one ISO week or calendar month: the union of its days' bitmaps."""

    __tablename__ = "span_bitmaps"

    unit: Mapped[str] = mapped_column(Text, primary_key=True)  # "week" (Monday start) or "month"
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    members: Mapped[bytes] = mapped_column(LargeBinary)
    cardinality: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class RetentionPair(Base):
    """Of the members first seen in bucket ``cohort``, how many were active in bucket ``start`` (transitions)."""

    __tablename__ = "retention_pairs"

    unit: Mapped[str] = mapped_column(Text, primary_key=True)  # "day", "week" (Monday start) or "month"
    cohort: Mapped[date] = mapped_column(Date, primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    active: Mapped[int] = mapped_column(Integer)


class LifecycleBucket(Base):
    """One whole bucket's new / returning / resurrecting / dormant members against the one before (transitions)."""

    __tablename__ = "lifecycle_buckets"

    unit: Mapped[str] = mapped_column(Text, primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    new: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    resurrected: Mapped[int] = mapped_column(Integer)
    dormant: Mapped[int] = mapped_column(Integer)
