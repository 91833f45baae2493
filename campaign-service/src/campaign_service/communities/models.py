"""Communities (社群): WeChat groups known by openGId, who was seen in them and when."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base


class Community(Base):
    """A WeChat group; staff name it and link it to the periods it serves.

    A group often carries on from one period into the next (seed 002's matrix
    keeps groups alive), so the links live in :class:`CommunityPeriod`;
    ``period_id`` / ``linked_at`` repeat the most recent current link, the one
    a sighting's event names first.
    """

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    open_gid: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"), index=True)
    # The period whose share cards were opened in this group first: a link staff may accept.
    proposed_period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CommunityPeriod(Base):
    """A group linked to a period from ``linked_at`` until ``unlinked_at`` (open while current)."""

    __tablename__ = "community_periods"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unlinked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # At most one current link per group and period; ended links stay as history.
        Index(
            "uq_community_periods_current", "community_id", "period_id", unique=True,
            postgresql_where=text("unlinked_at IS NULL"),
        ),
    )


class CommunityMember(Base):
    """A member seen in a group: first and last time, and how often."""

    __tablename__ = "community_members"

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sightings: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class CommunitySighting(Base):
    """One opening of a card shared in a group (the raw record behind ``community_members``)."""

    __tablename__ = "community_sightings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    member_no: Mapped[int] = mapped_column(BigInteger)
    period_id: Mapped[int | None] = mapped_column(BigInteger)
    # The periods the group was linked to at that moment: the sighting counts for each.
    period_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'"))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_community_sightings_community_seen", "community_id", "seen_at"),)
