"""Week and month bitmaps against a straightforward computation over the day bitmaps.

Generated members on 200 days are added through the ingest path
(``bitmaps.add``, twice: a redelivery), then every range figure — lifecycle,
retention, WAU/MAU, the per-bucket unions — is compared, for day, week and
month granularity and for ranges starting and ending mid-week and mid-month,
with the same figure computed the old way: reading each day bitmap of the
range and unioning them per bucket. ``rebuild_spans`` (what a bulk load runs)
must give the same spans as ingest.

Retention and lifecycle read the counts kept in ``retention_pairs`` /
``lifecycle_buckets`` (``activity.transitions``) for the buckets a range holds
whole, and intersect bitmaps for the buckets it cuts; they are compared with
the same reference for 1, 8, 30 and 60 intervals at every granularity, and the kept
counts after ingest (with its redelivery) and after a merge must equal what
``transitions.rebuild`` computes from the day bitmaps.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from pyroaring import BitMap
from sqlalchemy import text

from metrics_service.activity import bitmaps, service, transitions
from metrics_service.config import MetricsSettings
from metrics_service.figures import Window, bucket_of, previous_bucket
from metrics_service.overview import service as overview
from shared.db import create_engine, create_session_factory

pytestmark = pytest.mark.slow
FIRST = date(2026, 1, 1)
DAYS = 200

RANGES = [
    (date(2026, 1, 1), date(2026, 3, 31)),  # whole months
    (date(2026, 1, 7), date(2026, 4, 6)),  # 90 days, mid-week to mid-week, mid-month to mid-month
    (date(2026, 2, 2), date(2026, 5, 3)),  # Monday to Sunday
    (date(2026, 1, 30), date(2026, 2, 2)),  # four days over a month end
    (date(2026, 3, 15), date(2026, 3, 15)),  # one day
    (date(2025, 12, 20), date(2026, 2, 10)),  # starts before the data
    (date(2026, 6, 10), date(2026, 8, 20)),  # ends after the data
    (date(2026, 1, 3), date(2026, 7, 1)),  # 180 days, Saturday to Wednesday, mid-month to mid-month
]


def _generated() -> dict[tuple[date, str], set[int]]:
    rng = random.Random(2026)
    members: dict[tuple[date, str], set[int]] = {}
    seen: set[int] = set()
    for i in range(DAYS):
        day = FIRST + timedelta(days=i)
        if i % 11 == 5:
            continue  # a day without anyone
        active = {10001 + rng.randrange(3000) for _ in range(rng.randrange(50, 400))}
        members[(day, bitmaps.ANY)] = active
        members[(day, bitmaps.MINI_PROGRAM)] = {m for m in active if m % 3}
        members[(day, bitmaps.NEW)] = active - seen
        seen |= active
    return members


async def _reference_buckets(session, *, kind: str, first: date, last: date, unit: str) -> dict[date, BitMap]:
    days = await bitmaps.per_day(session, kind=kind, first=first, last=last)
    grouped: dict[date, list[BitMap]] = {}
    for day, members in days.items():
        grouped.setdefault(bucket_of(day, unit), []).append(members)
    return {b: u for b, maps in grouped.items() if (u := BitMap.union(*maps))}


async def _reference_lifecycle(session, window: Window) -> list[tuple[date, int, int, int, int]]:
    starts = window.buckets()
    before = previous_bucket(starts[0], window.unit)
    active = await _reference_buckets(session, kind=bitmaps.ANY, first=before, last=window.last, unit=window.unit)
    new = await _reference_buckets(session, kind=bitmaps.NEW, first=window.first, last=window.last, unit=window.unit)
    rows, previous = [], active.get(before, BitMap())
    for start in starts:
        now, fresh = active.get(start, BitMap()), new.get(start, BitMap())
        old = now - fresh
        rows.append((start, len(fresh), len(old & previous), len(old - previous), len(previous - now)))
        previous = now
    return rows


async def _reference_retention(session, window: Window, intervals: int) -> list[tuple[date, int, list[int]]]:
    new = await _reference_buckets(session, kind=bitmaps.NEW, first=window.first, last=window.last, unit=window.unit)
    active = await _reference_buckets(session, kind=bitmaps.ANY, first=window.first, last=window.last,
                                      unit=window.unit)
    starts = window.buckets()
    out = []
    for i, start in enumerate(starts):
        cohort = new.get(start)
        if not cohort:
            continue
        counts = [len(cohort & active[starts[i + k]]) if i + k < len(starts) and starts[i + k] in active else 0
                  for k in range(intervals + 1)]
        out.append((start, len(cohort), counts))
    return out


async def _reference_union(session, kind: str, first: date, last: date) -> BitMap:
    maps = list((await bitmaps.per_day(session, kind=kind, first=first, last=last)).values())
    return BitMap.union(*maps) if maps else BitMap()


async def _spans(session) -> dict[tuple[str, date, str], tuple[BitMap, int]]:
    rows = await session.execute(text("SELECT unit, start, kind, members, cardinality FROM span_bitmaps"))
    return {(u, s, k): (BitMap.deserialize(bytes(m)), n) for u, s, k, m, n in rows}


async def _kept(session) -> tuple[set[tuple[date, date, int]], set[tuple[date, int, int, int, int]]]:
    retention = await session.execute(text("SELECT unit, cohort, start, active FROM retention_pairs"))
    lifecycle = await session.execute(
        text("SELECT unit, start, new, returned, resurrected, dormant FROM lifecycle_buckets")
    )
    return {tuple(r) for r in retention}, {tuple(r) for r in lifecycle}  # type: ignore[misc]


async def _kept_equal_rebuilt(sessions) -> None:
    """The counts ingest (or a merge) left equal those recomputed from the day bitmaps."""
    async with sessions() as session:
        kept = await _kept(session)
    async with sessions() as session, session.begin():
        await transitions.rebuild(session)
    async with sessions() as session:
        rebuilt = await _kept(session)
    assert kept[0] and kept[1], "no retention or lifecycle counts were kept"
    assert kept == rebuilt


async def test_spans_equal_the_union_of_their_days(migrated_db, service_settings) -> None:
    settings = service_settings(MetricsSettings, await migrated_db("metrics"))
    engine = create_engine(settings.own_database_url(), pool_size=2, max_overflow=0)
    sessions = create_session_factory(engine)
    generated = _generated()
    try:
        # Ingest in batches of a few days (as polls do), then everything once more (a redelivery).
        keys = sorted(generated)
        for chunk in range(0, len(keys), 17):
            async with sessions() as session, session.begin():
                await bitmaps.add(session, {k: generated[k] for k in keys[chunk:chunk + 17]})
        async with sessions() as session, session.begin():
            await bitmaps.add(session, generated)
        async with sessions() as session:
            ingested = await _spans(session)
            assert ingested, "no week or month bitmaps were kept"
            for members, n in ingested.values():
                assert len(members) == n
            for first, last in RANGES:
                for unit in ("day", "week", "month"):
                    window = Window(first=first, last=last, unit=unit, csv=False)
                    for kind in bitmaps.KINDS:
                        fast = await bitmaps.per_bucket(session, kind=kind, first=first, last=last, unit=unit)
                        assert fast == await _reference_buckets(session, kind=kind, first=first, last=last,
                                                                unit=unit), (first, last, unit, kind)
                    lifecycle = await service.lifecycle(session, window)
                    assert [(b.start, b.new, b.returning, b.resurrecting, b.dormant) for b in lifecycle.buckets] \
                        == await _reference_lifecycle(session, window), (first, last, unit)
                    for intervals in (1, 8, 30, 60):
                        retention = await service.retention(session, window, intervals)
                        assert [(c.cohort, c.size, c.active) for c in retention.cohorts] \
                            == await _reference_retention(session, window, intervals), (first, last, unit, intervals)
                    figures = {m.name: m for m in (await overview.overview(session, window)).metrics}
                    prev_last = window.previous[1]
                    for name, length in (("wau", 7), ("mau", 30)):
                        assert figures[name].total == len(await _reference_union(
                            session, bitmaps.ANY, last - timedelta(days=length - 1), last))
                        assert figures[name].previous == len(await _reference_union(
                            session, bitmaps.ANY, prev_last - timedelta(days=length - 1), prev_last))
                for kind in bitmaps.KINDS:
                    assert await bitmaps.union(session, kind=kind, first=first, last=last) \
                        == await _reference_union(session, kind, first, last)
        await _kept_equal_rebuilt(sessions)
        # What a bulk load runs gives the same spans as ingest did.
        async with sessions() as session, session.begin():
            await bitmaps.rebuild_spans(session)
        async with sessions() as session:
            assert await _spans(session) == ingested
        # A merge re-keys weeks and months as it re-keys days: the same spans as rebuilt from the days.
        async with sessions() as session, session.begin():
            await bitmaps.merge_member(session, from_no=10002, into_no=10001)
        await _kept_equal_rebuilt(sessions)
        async with sessions() as session:
            merged = await _spans(session)
            assert not any(10002 in members for members, _ in merged.values())
            assert any(10001 in members for members, _ in merged.values())
        async with sessions() as session, session.begin():
            await bitmaps.rebuild_spans(session)
        async with sessions() as session:
            assert await _spans(session) == merged
    finally:
        await engine.dispose()
