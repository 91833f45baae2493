"""Shapes of the community API and the community matrix."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import Id, MemberNo, PatchModel, Text


class SightingCreate(BaseModel):
    """``wx.getShareInfo`` / ``wx.getGroupEnterInfo`` output of a card opened in a group."""

    encrypted_data: Text = Field(min_length=1, max_length=65536)
    iv: Text = Field(min_length=1, max_length=64)
    period_id: Id | None = Field(None, description="the period whose card was shared, if any")


class SightingRead(BaseModel):
    """The group the member was seen in."""

    community_id: Id
    name: Text | None
    period_id: Id | None
    first_time: bool = Field(description="the member's first sighting in this group")


class CommunityUpdate(PatchModel):
    """Name a group or link it to one more period (``period_id: null`` ends every current link)."""

    nullable = frozenset({"period_id"})

    name: Text | None = Field(None, min_length=1, max_length=100)
    period_id: Id | None = None


class CommunityPeriodRead(BaseModel):
    """A group's link to a period: since when, and until when if it ended."""

    model_config = ConfigDict(from_attributes=True)

    period_id: Id
    linked_at: datetime
    unlinked_at: datetime | None


class CommunityLinkCreate(BaseModel):
    """Link a group to one more period (e.g. group A of X1 carries on into X2)."""

    period_id: Id


class CommunityRead(BaseModel):
    """A group as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    open_gid: Text
    name: Text | None
    period_id: Id | None
    proposed_period_id: Id | None
    linked_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    members_seen: int = 0
    periods: list[CommunityPeriodRead] = Field(
        default_factory=list, description="every link to a period, current and ended, oldest first"
    )


class CommunityMemberRead(BaseModel):
    """A member seen in a group."""

    model_config = ConfigDict(from_attributes=True)

    member_no: MemberNo
    first_seen_at: datetime
    last_seen_at: datetime
    sightings: int
    in_period: bool = Field(False, description="registered (confirmed) for the group's period")


class GroupCell(BaseModel):
    """One group in the matrix."""

    community_id: Id
    name: Text | None
    open_gid: Text
    period_id: Id | None
    members_seen: int
    period_members_seen: int = Field(description="confirmed registrants of the group's period seen in it")
    last_activity_at: datetime | None


class Reach(BaseModel):
    """Where a period's registrants were seen: a group of the series and how many of them."""

    community_id: Id
    name: Text | None
    registrants_seen: int


class PeriodMatrix(BaseModel):
    """A period, its groups, and the series groups its registrants were seen in."""

    period_id: Id
    number: int
    title: Text
    state: Text
    registrants: int
    groups: list[GroupCell]
    seen_in: list[Reach] = Field(description="every group of the series holding registrants of this period")


class SeriesMatrix(BaseModel):
    """A series and its periods."""

    series_id: Id
    title: Text
    periods: list[PeriodMatrix]


class MatrixRead(BaseModel):
    """The community matrix: series → periods → groups, and groups not linked yet."""

    series: list[SeriesMatrix]
    unlinked: list[GroupCell]
