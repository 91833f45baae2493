"""Communities (社群): WeChat groups known by openGId, who was seen in them and when."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base


class Community(Base):
    """A WeChat group; staff name it and link it to the period it serves."""

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
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_community_sightings_community_seen", "community_id", "seen_at"),)
