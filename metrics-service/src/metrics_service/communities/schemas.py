"""Response shapes of the community figure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from metrics_service.figures import Tabular


class GroupActivity(BaseModel):
    """One group (openGId): members seen, recently active in the mini-program, last sighting."""

    community_id: int
    open_gid: str
    period_id: int | None
    series_id: int | None
    members_seen: int
    active_members: int
    active_ratio: float | None
    last_activity_at: datetime


class SeriesActivity(BaseModel):
    """The groups of one series together (a member in two of its groups counts once)."""

    series_id: int
    members_seen: int
    active_members: int
    active_ratio: float | None
    last_activity_at: datetime | None


class CommunitiesRead(Tabular):
    """Community activity: per group and per series, active within ``active_days`` up to ``date_to``."""

    date_to: date
    active_days: int
    groups: list[GroupActivity]
    series: list[SeriesActivity]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per group, then one per series."""
        rows: list[list[Any]] = [
            ["group", g.community_id, g.open_gid, g.period_id, g.series_id, g.members_seen, g.active_members,
             g.active_ratio, g.last_activity_at]
            for g in self.groups
        ]
        rows += [
            ["series", "", "", "", s.series_id, s.members_seen, s.active_members, s.active_ratio, s.last_activity_at]
            for s in self.series
        ]
        return ["level", "community_id", "open_gid", "period_id", "series_id", "members_seen", "active_members",
                "active_ratio", "last_activity_at"], rows
