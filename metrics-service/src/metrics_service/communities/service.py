"""The community figure: who is seen in each group and who of them still uses the mini-program."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyroaring import BitMap
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import bitmaps
from metrics_service.communities import repository
from metrics_service.communities.schemas import CommunitiesRead, GroupActivity, SeriesActivity
from metrics_service.figures import Window
from metrics_service.summaries import repository as summaries


async def communities(
    session: AsyncSession, window: Window, *, active_days: int, series_id: int | None
) -> CommunitiesRead:
    """Per group and per series: members seen, active within ``active_days`` ending ``window.last``."""
    first = window.last - timedelta(days=active_days - 1)
    groups = await repository.groups(session, series_id=series_id)
    members = await summaries.community_maps(session, [g["community_id"] for g in groups])
    active = await bitmaps.union(session, kind=bitmaps.MINI_PROGRAM, first=first, last=window.last)
    rows = []
    by_series: dict[int, tuple[list[BitMap], datetime]] = {}
    for g in groups:
        seen = members.get(g["community_id"], BitMap())
        recent = len(seen & active)
        rows.append(
            GroupActivity(
                community_id=g["community_id"], open_gid=g["open_gid"], period_id=g["period_id"],
                series_id=g["series_id"], members_seen=len(seen), active_members=recent,
                active_ratio=definitions.rate(recent, len(seen)), last_activity_at=g["last_seen_at"],
            )
        )
        if g["series_id"] is not None:
            maps, last = by_series.get(g["series_id"], ([], g["last_seen_at"]))
            by_series[g["series_id"]] = ([*maps, seen], max(last, g["last_seen_at"]))
    series = []
    for sid, (maps, last) in sorted(by_series.items()):
        everyone = BitMap.union(*maps) if maps else BitMap()
        recent = len(everyone & active)
        series.append(
            SeriesActivity(
                series_id=sid, members_seen=len(everyone), active_members=recent,
                active_ratio=definitions.rate(recent, len(everyone)), last_activity_at=last,
            )
        )
    return CommunitiesRead(date_to=window.last, active_days=active_days, groups=rows, series=series)
