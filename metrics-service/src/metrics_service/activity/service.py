"""Audience figures computed from the daily rollups."""

from __future__ import annotations

from datetime import date, timedelta

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


def _days_in(window: Window, start: date) -> tuple[date, date]:
    """The days of the bucket starting at ``start`` that lie in the range."""
    return max(start, window.first), min(next_bucket(start, window.unit) - timedelta(days=1), window.last)


def _whole(window: Window, start: date) -> bool:
    """Whether the range holds every day of the bucket (its kept counts apply)."""
    return _days_in(window, start) == (start, next_bucket(start, window.unit) - timedelta(days=1))


async def lifecycle(session: AsyncSession, window: Window) -> LifecycleRead:
    """New / returning / resurrecting / dormant per bucket (set operations on the member bitmaps).

    A bucket wholly inside the range reads its kept counts (``lifecycle_buckets``); a bucket the range cuts
    (at most the first and the last) is computed from the bitmaps of its days in the range, and the active
    members of the bucket before it.
    """
    unit, starts = window.unit, window.buckets()
    before = previous_bucket(starts[0], unit)
    kept = await transitions.lifecycle_counts(session, unit=unit, starts=[s for s in starts if _whole(window, s)])
    cut = [i for i, s in enumerate(starts) if not _whole(window, s)]
    # Active members are counted from the bucket before the range, new ones from the range's first day.
    def active_days(i: int) -> tuple[date, date]:
        if i < 0:
            return before, starts[0] - timedelta(days=1)
        return starts[i], _days_in(window, starts[i])[1]

    wanted = [r for i in cut for r in ((bitmaps.ANY, *active_days(i)), (bitmaps.ANY, *active_days(i - 1)),
                                        (bitmaps.NEW, *_days_in(window, starts[i])))]
    maps = await bitmaps.unions_of(session, wanted) if wanted else []
    computed = {i: transitions.lifecycle_of(maps[3 * n], maps[3 * n + 2], maps[3 * n + 1]) for n, i in enumerate(cut)}
    zero = (0, 0, 0, 0)
    rows = []
    for i, start in enumerate(starts):
        new, returning, resurrecting, dormant = computed[i] if i in computed else kept.get(start, zero)
        rows.append(
            LifecycleBucket(start=start, new=new, returning=returning, resurrecting=resurrecting, dormant=dormant)
        )
    return LifecycleRead(date_from=window.first, date_to=window.last, granularity=unit, buckets=rows)


async def retention(session: AsyncSession, window: Window, intervals: int) -> RetentionRead:
    """Cohorts by first-seen bucket, active at intervals 0…N (within the range).

    Between buckets wholly inside the range, the kept counts (``retention_pairs``: one row per cohort and
    later bucket, no intersection); a bucket the range cuts (at most the first and the last) intersects the
    bitmaps of its days in the range with the buckets it pairs with.
    """
    unit, starts = window.unit, window.buckets()
    n = len(starts)
    whole = [_whole(window, s) for s in starts]
    whole_starts = [s for s, w in zip(starts, whole, strict=True) if w]
    kept = await transitions.retention_counts(
        session, unit=unit, cohorts=whole_starts, last_start=whole_starts[-1] if whole_starts else window.last,
        intervals=intervals,
    )
    sizes = await transitions.sizes(session, unit=unit, starts=whole_starts)
    # The bitmaps a cut bucket pairs with: its own, and the buckets up to ``intervals`` before or after it.
    new_of: set[int] = set()
    any_of: set[int] = set()
    for i in (i for i in range(n) if not whole[i]):
        new_of.add(i)
        any_of.update(range(i, min(n, i + intervals + 1)))
        any_of.add(i)
        new_of.update(range(max(0, i - intervals), i + 1))
    plan = [(bitmaps.NEW, i) for i in sorted(new_of)] + [(bitmaps.ANY, i) for i in sorted(any_of)]
    read = await bitmaps.unions_of(session, [(kind, *_days_in(window, starts[i])) for kind, i in plan]) if plan else []
    maps = dict(zip(plan, read, strict=True))
    cohorts = []
    for i, start in enumerate(starts):
        size = sizes.get(start, 0) if whole[i] else len(maps[(bitmaps.NEW, i)])
        if not size:
            continue
        counts = []
        for k in range(intervals + 1):
            j = i + k
            if j >= n:
                counts.append(0)
            elif whole[i] and whole[j]:
                counts.append(kept.get((start, starts[j]), 0))
            else:
                counts.append(maps[(bitmaps.NEW, i)].intersection_cardinality(maps[(bitmaps.ANY, j)]))
        cohorts.append(
            CohortRow(cohort=start, size=size, active=counts, rates=[definitions.rate(c, size) for c in counts])
        )
    return RetentionRead(date_from=window.first, date_to=window.last, granularity=unit, intervals=intervals,
                         cohorts=cohorts)


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
