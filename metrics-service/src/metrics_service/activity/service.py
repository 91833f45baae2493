"""Audience figures computed from the daily rollups."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import repository
from metrics_service.activity.schemas import (
    CohortRow,
    DwellPoint,
    DwellRead,
    HeatCell,
    HeatmapRead,
    LifecycleBucket,
    LifecycleRead,
    RetentionRead,
)
from metrics_service.figures import Window


async def lifecycle(session: AsyncSession, window: Window) -> LifecycleRead:
    """New / returning / resurrecting / dormant per bucket."""
    rows = await repository.lifecycle(session, first=window.first, last=window.last, unit=window.unit)
    return LifecycleRead(
        date_from=window.first, date_to=window.last, granularity=window.unit,
        buckets=[
            LifecycleBucket(start=b, new=v[0], returning=v[1], resurrecting=v[2], dormant=v[3])
            for b, v in sorted(rows.items())
        ],
    )


async def retention(session: AsyncSession, window: Window, intervals: int) -> RetentionRead:
    """Cohorts by first-seen bucket, active at intervals 0…N."""
    sizes = await repository.cohort_sizes(session, first=window.first, last=window.last, unit=window.unit)
    rows = await repository.retention(
        session, first=window.first, last=window.last, unit=window.unit, intervals=intervals
    )
    active: dict[date, list[int]] = {c: [0] * (intervals + 1) for c in sizes}
    for cohort, k, n in rows:
        if cohort in active:
            active[cohort][k] = n
    return RetentionRead(
        date_from=window.first, date_to=window.last, granularity=window.unit, intervals=intervals,
        cohorts=[
            CohortRow(
                cohort=c, size=sizes[c], active=active[c], rates=[definitions.rate(n, sizes[c]) for n in active[c]]
            )
            for c in sorted(sizes)
        ],
    )


def _slope(points: list[tuple[int, float]]) -> float | None:
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / den, 2) if den else None


async def dwell(session: AsyncSession, window: Window) -> DwellRead:
    """Average seconds per mini-program-active member per day, per bucket, with 环比 and trend."""
    per_bucket = await repository.dwell_per_bucket(session, first=window.first, last=window.last, unit=window.unit)
    per_day = await repository.dwell_per_bucket(session, first=window.first, last=window.last, unit="day")
    prev_first, prev_last = window.previous
    before = await repository.dwell_per_bucket(session, first=prev_first, last=prev_last, unit="month")

    def average(values: list[tuple[int, int]]) -> float | None:
        ms = sum(v[0] for v in values)
        days = sum(v[1] for v in values)
        return round(ms / days / 1000, 1) if days else None

    current = average(list(per_bucket.values()))
    previous = average(list(before.values()))
    points = [
        ((d - window.first).days, ms / n / 1000) for d, (ms, n) in sorted(per_day.items()) if n
    ]
    return DwellRead(
        date_from=window.first, date_to=window.last, granularity=window.unit,
        average_seconds=current, previous_average_seconds=previous,
        change=definitions.change(current, previous) if current is not None and previous else None,
        trend_seconds_per_day=_slope(points),
        series=[
            DwellPoint(
                start=b, seconds=average([per_bucket[b]]) if b in per_bucket else None,
                member_days=per_bucket.get(b, (0, 0))[1],
            )
            for b in window.buckets()
        ],
    )


async def heatmap(session: AsyncSession, window: Window) -> HeatmapRead:
    """Mini-program events by weekday and hour."""
    cells = await repository.heatmap(session, first=window.first, last=window.last)
    return HeatmapRead(
        date_from=window.first, date_to=window.last,
        cells=[HeatCell(weekday=d, hour=h, events=n) for d, h, n in sorted(cells)],
    )


def window_days(last: date, days: int) -> tuple[date, date]:
    """The ``days`` local days ending with ``last``."""
    return last - timedelta(days=days - 1), last
