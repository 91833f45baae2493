"""The overview figure: headline numbers with 环比."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import bitmaps
from metrics_service.figures import Window, bucket_of
from metrics_service.overview import repository
from metrics_service.overview.schemas import DailyValue, MetricRead, OverviewRead, Point

COUNTERS = ["new_members", "follows", "unfollows", "registrations", "paid", "revenue_fen", "refunds_fen"]


async def _daily_active(session: AsyncSession, first: date, last: date) -> dict[date, int]:
    return await bitmaps.cardinalities(session, kind=bitmaps.ANY, first=first, last=last)


def _series(values: dict[date, int], window: Window) -> list[Point]:
    return [Point(start=b, value=values.get(b, 0)) for b in window.buckets()]


def _metric(name: str, total: float, previous: float, series: list[Point]) -> MetricRead:
    return MetricRead(
        name=name, total=total, previous=previous, change=definitions.change(total, previous), series=series
    )


async def overview(session: AsyncSession, window: Window) -> OverviewRead:
    """New members, DAU/WAU/MAU, follows, registrations, payments and money, each with 环比.

    Five statements whatever the range: the counters of both ranges, the
    day cardinalities of both ranges, the member total, and the WAU/MAU
    bitmaps (days and spans).
    """
    prev_first, prev_last = window.previous
    per_day = await repository.counters_by_day(session, kinds=COUNTERS, first=prev_first, last=window.last)
    current: dict[str, dict[date, int]] = {k: defaultdict(int) for k in COUNTERS}
    totals = dict.fromkeys(COUNTERS, 0)
    previous = dict.fromkeys(COUNTERS, 0)
    for kind, days in per_day.items():
        for day, value in days.items():
            if day >= window.first:
                current[kind][bucket_of(day, window.unit)] += value
                totals[kind] += value
            elif day <= prev_last:
                previous[kind] += value
    metrics = [_metric(k, totals[k], previous[k], _series(current[k], window)) for k in COUNTERS]
    net = {b: current["follows"].get(b, 0) - current["unfollows"].get(b, 0) for b in window.buckets()}
    metrics.insert(
        3,
        _metric(
            "net_follows", totals["follows"] - totals["unfollows"], previous["follows"] - previous["unfollows"],
            _series(net, window),
        ),
    )

    both = await _daily_active(session, prev_first, window.last)
    daily = {d: n for d, n in both.items() if d >= window.first}
    daily_before = {d: n for d, n in both.items() if d <= prev_last}
    per_bucket: dict[date, list[int]] = defaultdict(list)
    day = window.first
    while day <= window.last:
        per_bucket[bucket_of(day, window.unit)].append(daily.get(day, 0))
        day += timedelta(days=1)
    dau_series = [Point(start=b, value=round(sum(v) / len(v), 1)) for b, v in sorted(per_bucket.items())]
    dau = round(sum(daily.values()) / window.days, 1)
    dau_before = round(sum(daily_before.values()) / window.days, 1)
    metrics.insert(1, _metric("dau", dau, dau_before, dau_series))
    # WAU / MAU: the 7 and 30 days ending with the range (and with the previous range), read in one go.
    ranges = [
        (end - timedelta(days=length - 1), end) for length in (7, 30) for end in (window.last, prev_last)
    ]
    wau, wau_before, mau, mau_before = await bitmaps.unions(session, kind=bitmaps.ANY, ranges=ranges)
    metrics.insert(2, _metric("wau", len(wau), len(wau_before), []))
    metrics.insert(3, _metric("mau", len(mau), len(mau_before), []))

    in_range = {
        k: sorted((d, v) for d, v in per_day[k].items() if d >= window.first) for k in ("new_members", "follows")
    }
    return OverviewRead(
        members_total=await repository.member_count(session),
        new_members=[DailyValue(day=d, value=v) for d, v in in_range["new_members"]],
        follows=[DailyValue(day=d, value=v) for d, v in in_range["follows"]],
        date_from=window.first, date_to=window.last, granularity=window.unit,
        previous_from=prev_first, previous_to=prev_last, metrics=metrics,
    )
