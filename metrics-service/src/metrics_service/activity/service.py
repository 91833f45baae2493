"""Audience figures computed from the daily rollups."""

from __future__ import annotations

from datetime import date, timedelta

from pyroaring import BitMap
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import bitmaps, repository, transitions
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
from metrics_service.figures import Window, next_bucket, previous_bucket
from metrics_service.overview.repository import counters_per_bucket


async def _two(
    session: AsyncSession, a: tuple[str, date, date], b: tuple[str, date, date], *, unit: str
) -> tuple[dict[date, BitMap], dict[date, BitMap]]:
    """Per bucket of ``unit``, for two ``(kind, first, last)``: the members of the kind on its days within the range
    (one row per whole bucket, one read for both)."""
    first, second = await bitmaps.per_buckets(session, [a, b], unit=unit)
    return first, second


async def lifecycle(session: AsyncSession, window: Window) -> LifecycleRead:
    """New / returning / resurrecting / dormant per bucket (set operations on the day bitmaps).

    Per day, the kept counts of ``lifecycle_days`` (the same rule, applied when a day bitmap changed).
    """
    if window.unit == bitmaps.DAY:
        kept = await transitions.lifecycle_counts(session, first=window.first, last=window.last)
        zero = (0, 0, 0, 0)
        days = [(day, kept.get(day, zero)) for day in window.buckets()]
        return LifecycleRead(
            date_from=window.first, date_to=window.last, granularity=window.unit,
            buckets=[LifecycleBucket(start=day, new=a, returning=b, resurrecting=c, dormant=d)
                     for day, (a, b, c, d) in days],
        )
    starts = window.buckets()
    before = previous_bucket(starts[0], window.unit)
    active, new = await _two(
        session, (bitmaps.ANY, before, window.last), (bitmaps.NEW, window.first, window.last), unit=window.unit
    )
    empty = BitMap()
    rows = []
    previous = active.get(before, empty)
    for start in starts:
        now = active.get(start, empty)
        fresh, returning, resurrecting, dormant = transitions.lifecycle_of(now, new.get(start, empty), previous)
        rows.append(
            LifecycleBucket(start=start, new=fresh, returning=returning, resurrecting=resurrecting, dormant=dormant)
        )
        previous = now
    return LifecycleRead(date_from=window.first, date_to=window.last, granularity=window.unit, buckets=rows)


async def retention(session: AsyncSession, window: Window, intervals: int) -> RetentionRead:
    """Cohorts by first-seen bucket, active at intervals 0…N (within the range).

    Per day, the kept counts of ``retention_days`` (one row per cohort and later day, no intersection).
    """
    if window.unit == bitmaps.DAY:
        return await _retention_by_day(session, window, intervals)
    new, active = await _two(
        session, (bitmaps.NEW, window.first, window.last), (bitmaps.ANY, window.first, window.last), unit=window.unit
    )
    starts = window.buckets()
    cohorts = []
    for i, start in enumerate(starts):
        cohort = new.get(start)
        if not cohort:
            continue
        counts = [
            cohort.intersection_cardinality(active[starts[i + k]])
            if i + k < len(starts) and starts[i + k] in active else 0
            for k in range(intervals + 1)
        ]
        cohorts.append(
            CohortRow(cohort=start, size=len(cohort), active=counts,
                      rates=[definitions.rate(n, len(cohort)) for n in counts])
        )
    return RetentionRead(
        date_from=window.first, date_to=window.last, granularity=window.unit, intervals=intervals, cohorts=cohorts
    )


async def _retention_by_day(session: AsyncSession, window: Window, intervals: int) -> RetentionRead:
    sizes = await bitmaps.cardinalities(session, kind=bitmaps.NEW, first=window.first, last=window.last)
    kept = await transitions.retention_counts(session, first=window.first, last=window.last, intervals=intervals)
    cohorts = []
    for day in window.buckets():
        size = sizes.get(day, 0)
        if size:
            counts = [kept.get(day, {}).get(k, 0) for k in range(intervals + 1)]
            cohorts.append(
                CohortRow(cohort=day, size=size, active=counts, rates=[definitions.rate(n, size) for n in counts])
            )
    return RetentionRead(
        date_from=window.first, date_to=window.last, granularity=window.unit, intervals=intervals, cohorts=cohorts
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
    prev_first, prev_last = window.previous
    ms = await counters_per_bucket(session, kinds=["dwell_ms"], first=prev_first, last=window.last, unit="day")
    per_day_ms = ms["dwell_ms"]
    members = await bitmaps.cardinalities(session, kind=bitmaps.MINI_PROGRAM, first=prev_first, last=window.last)

    def average(days: list[date]) -> float | None:
        total = sum(members.get(d, 0) for d in days)
        return round(sum(per_day_ms.get(d, 0) for d in days) / total / 1000, 1) if total else None

    def days_of(first: date, last: date) -> list[date]:
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    current = average(days_of(window.first, window.last))
    previous = average(days_of(prev_first, prev_last))
    points = [
        ((d - window.first).days, per_day_ms.get(d, 0) / members[d] / 1000)
        for d in days_of(window.first, window.last) if members.get(d)
    ]
    series = []
    for start in window.buckets():
        end = min(next_bucket(start, window.unit) - timedelta(days=1), window.last)
        days = days_of(max(start, window.first), end)
        series.append(
            DwellPoint(start=start, seconds=average(days), member_days=sum(members.get(d, 0) for d in days))
        )
    return DwellRead(
        date_from=window.first, date_to=window.last, granularity=window.unit,
        average_seconds=current, previous_average_seconds=previous,
        change=definitions.change(current, previous) if current is not None and previous else None,
        trend_seconds_per_day=_slope(points), series=series,
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
