"""Groups (by openGId) and the members seen in them, from sightings."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from metrics_service.models import Base


class CommunityFact(Base):
    """A WeChat group and the period it belongs to (definitions: groups of a period)."""

    __tablename__ = "community_facts"

    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open_gid: Mapped[str] = mapped_column(Text)
    period_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CommunityMemberFact(Base):
    """A member seen in a group: first and last sighting."""

    __tablename__ = "community_member_facts"

    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sightings: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class CommunityLink(Base):
    """A group's link to a period (campaign.community.linked), ended by an unlink."""

    __tablename__ = "community_links"

    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    series_id: Mapped[int | None] = mapped_column(BigInteger)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unlinked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PeriodSighting(Base):
    """A member seen in a group while the group counted for a period (definitions: groups of a period)."""

    __tablename__ = "period_sightings"

    period_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
