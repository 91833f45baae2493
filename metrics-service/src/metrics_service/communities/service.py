"""The community figure: who is seen in each group and who of them still uses the mini-program."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.communities import repository
from metrics_service.communities.schemas import CommunitiesRead, GroupActivity, SeriesActivity
from metrics_service.figures import Window


async def communities(
    session: AsyncSession, window: Window, *, active_days: int, series_id: int | None
) -> CommunitiesRead:
    """Per group and per series: members seen, active within ``active_days`` ending ``window.last``."""
    first = window.last - timedelta(days=active_days - 1)
    groups = await repository.groups(session, series_id=series_id)
    activity = await repository.group_activity(
        session, community_ids=[g["community_id"] for g in groups], first=first, last=window.last
    )
    series = await repository.series_activity(session, first=first, last=window.last)
    if series_id is not None:
        series = [s for s in series if s[0] == series_id]
    return CommunitiesRead(
        date_to=window.last, active_days=active_days,
        groups=[
            GroupActivity(
                community_id=g["community_id"], open_gid=g["open_gid"], period_id=g["period_id"],
                series_id=g["series_id"], members_seen=activity.get(g["community_id"], (0, 0))[0],
                active_members=activity.get(g["community_id"], (0, 0))[1],
                active_ratio=definitions.rate(
                    activity.get(g["community_id"], (0, 0))[1], activity.get(g["community_id"], (0, 0))[0]
                ),
                last_activity_at=g["last_seen_at"],
            )
            for g in groups
        ],
        series=[
            SeriesActivity(
                series_id=s, members_seen=n, active_members=a, active_ratio=definitions.rate(a, n),
                last_activity_at=at,
            )
            for s, n, a, at in series
        ],
    )
