"""Summary structures the slow figures read: a few rows per request, maintained at ingest.

Each is derived from the fact tables (``registration_facts``, ``channel_touches``,
``community_member_facts`` …) by :mod:`metrics_service.summaries.service`, which
recomputes exactly the members and series an event batch touched, so
redelivery (no-op through the inbox) and the rebuild (replaying every event)
give the same summaries as the facts they come from.
"""

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Integer, LargeBinary, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from metrics_service.models import Base


class PeriodBitmap(Base):
    """Per period, a Roaring bitmap of members: ``members`` (definitions: members of a period) or
    ``seen_after`` (seen after the period ended in a group of it or of a later period of its series)."""

    __tablename__ = "period_bitmaps"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    members: Mapped[bytes] = mapped_column(LargeBinary)
    cardinality: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class CohortBitmap(Base):
    """The members whose ``source`` (first channel or period anywhere) or ``destination`` (last period
    they were a member of) is one key: the cohorts figure intersects these with a period's members."""

    __tablename__ = "cohort_bitmaps"

    view: Mapped[str] = mapped_column(Text, primary_key=True)
    key_kind: Mapped[str] = mapped_column(Text, primary_key=True)
    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scene: Mapped[str | None] = mapped_column(Text)
    members: Mapped[bytes] = mapped_column(LargeBinary)
    cardinality: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class MemberCohort(Base):
    """One member's current source and destination keys (what their cohort bitmaps hold)."""

    __tablename__ = "member_cohorts"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_kind: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    source_scene: Mapped[str | None] = mapped_column(Text)
    destination_id: Mapped[int | None] = mapped_column(BigInteger)


class ChannelMember(Base):
    """A member a channel touched: their touch day and how far down the funnel they went."""

    __tablename__ = "channel_members"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    day: Mapped[date] = mapped_column(Date)
    scene: Mapped[str] = mapped_column(Text)
    followed: Mapped[bool] = mapped_column(Boolean)
    registered: Mapped[bool] = mapped_column(Boolean)
    paid: Mapped[bool] = mapped_column(Boolean)
    completed: Mapped[bool] = mapped_column(Boolean)
    renewed: Mapped[bool] = mapped_column(Boolean)


class ChannelDay(Base):
    """Per channel and touch day: the funnel's counts (sums of ``channel_members``)."""

    __tablename__ = "channel_days"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scene: Mapped[str] = mapped_column(Text)
    scanned: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    followed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    registered: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    paid: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    completed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    renewed: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class CommunityBitmap(Base):
    """The members seen in one group (openGId), as a Roaring bitmap."""

    __tablename__ = "community_bitmaps"

    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    members: Mapped[bytes] = mapped_column(LargeBinary)
    cardinality: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class PeriodSummary(Base):
    """One period's figure (counts, check-in deciles, completion), recomputed when its facts change."""

    __tablename__ = "period_summaries"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    figure: Mapped[dict[str, Any]] = mapped_column(JSONB)
