"""Bucket-to-bucket counts derived from the member bitmaps: retention pairs and lifecycle buckets.

Retention and lifecycle would otherwise intersect two bitmaps per bucket of
the range at every request (a cohort table of 90 days × 30 intervals is 2,700
intersections over 180 day bitmaps read; 26 weeks read 52 week bitmaps of
members spread over a million numbers). They are kept instead, for each unit
(day, ISO week, calendar month), as counts derived from the day and span
bitmaps and rewritten whenever a bitmap they derive from changes:

``retention_pairs`` (unit, cohort, start, active)
    How many of the members first seen in the bucket ``cohort`` (its ``new``
    bitmap) were active in the bucket ``start`` of the same unit (its ``any``
    bitmap), for ``start`` 0…``HORIZON`` buckets after ``cohort`` where both
    bitmaps exist (a missing row is 0).
``lifecycle_buckets`` (unit, start, new, returned, resurrected, dormant)
    The lifecycle of the whole bucket against the whole bucket before: what
    ``activity.service.lifecycle`` computes for a bucket the range does not cut.

A count is never incremented: each is recomputed from the bitmaps as they
stand, so a redelivered event (whose OR changed no bitmap) changes nothing and
a merge's re-key is followed by the counts it touches. Writers of the bitmaps
hold one transaction-level advisory lock (:func:`lock`) from before their
first row lock to their commit, so each recomputation reads every bitmap as
the last committed writer left it and no two writers' counts interleave.
A figure reads these rows for the buckets wholly inside its range and
intersects bitmaps only for the (at most two) buckets its range cuts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.figures import next_bucket, previous_bucket

# The two bitmap kinds the counts derive from (``activity.bitmaps`` uses these names).
ANY, NEW = "any", "new"
DAY, WEEK, MONTH = "day", "week", "month"
# The most intervals ``/retention`` accepts: pairs are kept up to this many buckets after the cohort.
HORIZON = 60
# Serialises the writers of the bitmaps (see the module docstring); a constant key of this service's own.
_LOCK_KEY = 0x6D657472  # "metr"

# The most days one bucket of a unit spans (bounds the pairs a read asks for).
_MAX_DAYS = {DAY: 1, WEEK: 7, MONTH: 31}

Bucket = tuple[str, date]  # (unit, start)
Key = tuple[str, str, date]  # (kind, unit, start)
Lifecycle = tuple[int, int, int, int]  # new, returning, resurrecting, dormant


async def lock(session: AsyncSession) -> None:
    """Take the bitmap writers' lock until this transaction ends (re-entrant within it)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def lifecycle_of(now: BitMap, fresh: BitMap, previous: BitMap) -> Lifecycle:
    """New / returning / resurrecting / dormant of one bucket against the one before (the figure's rule)."""
    old = now - fresh
    returning = old.intersection_cardinality(previous)
    return len(fresh), returning, len(old) - returning, len(previous) - previous.intersection_cardinality(now)


def _later(start: date, unit: str) -> list[date]:
    """``start`` and the ``HORIZON`` buckets after it."""
    out = [start]
    for _ in range(HORIZON):
        out.append(next_bucket(out[-1], unit))
    return out


def _earlier(start: date, unit: str) -> list[date]:
    """``start`` and the ``HORIZON`` buckets before it."""
    out = [start]
    for _ in range(HORIZON):
        out.append(previous_bucket(out[-1], unit))
    return out


def _plan(changed: Iterable[Key]) -> tuple[set[tuple[str, date, date]], set[Bucket]]:
    """The retention pairs ``(unit, cohort, start)`` and lifecycle buckets that read any of these bitmaps."""
    pairs: set[tuple[str, date, date]] = set()
    buckets: set[Bucket] = set()
    for kind, unit, start in changed:
        if kind == ANY:
            pairs.update((unit, cohort, start) for cohort in _earlier(start, unit))
            buckets.update(((unit, start), (unit, next_bucket(start, unit))))
        elif kind == NEW:
            pairs.update((unit, start, later) for later in _later(start, unit))
            buckets.add((unit, start))
    return pairs, buckets


def _needed(pairs: set[tuple[str, date, date]], buckets: set[Bucket]) -> set[Key]:
    wanted = {(NEW, u, c) for u, c, _ in pairs} | {(ANY, u, s) for u, _, s in pairs}
    for unit, start in buckets:
        wanted |= {(NEW, unit, start), (ANY, unit, start), (ANY, unit, previous_bucket(start, unit))}
    return wanted


async def read_maps(session: AsyncSession, wanted: set[Key]) -> dict[Key, BitMap]:
    """The stored day / span bitmaps of these keys (missing or empty ones left out); two statements at most."""
    out: dict[Key, BitMap] = {}
    days = sorted((k, s) for k, u, s in wanted if u == DAY)
    spans = sorted((k, u, s) for k, u, s in wanted if u != DAY)
    if days:
        rows = await session.execute(
            text(
                """
                SELECT b.kind, b.day, b.members FROM day_bitmaps b
                JOIN unnest(CAST(:kinds AS text[]), CAST(:days AS date[])) AS t(k, d) ON b.kind = t.k AND b.day = t.d
                WHERE b.cardinality > 0
                """
            ),
            {"kinds": [k for k, _ in days], "days": [d for _, d in days]},
        )
        out.update({(kind, DAY, day): BitMap.deserialize(bytes(stored)) for kind, day, stored in rows})
    if spans:
        rows = await session.execute(
            text(
                """
                SELECT b.kind, b.unit, b.start, b.members FROM span_bitmaps b
                JOIN unnest(CAST(:kinds AS text[]), CAST(:units AS text[]), CAST(:starts AS date[])) AS t(k, u, s)
                  ON b.kind = t.k AND b.unit = t.u AND b.start = t.s
                WHERE b.cardinality > 0
                """
            ),
            {"kinds": [k for k, _, _ in spans], "units": [u for _, u, _ in spans], "starts": [s for _, _, s in spans]},
        )
        out.update({(kind, unit, start): BitMap.deserialize(bytes(stored)) for kind, unit, start, stored in rows})
    return out


def compute(
    maps: dict[Key, BitMap], pairs: Iterable[tuple[str, date, date]], buckets: Iterable[Bucket]
) -> tuple[list[tuple[str, date, date, int]], list[tuple[str, date, int, int, int, int]]]:
    """Rows of ``retention_pairs`` (pairs whose two bitmaps exist) and ``lifecycle_buckets`` (any input exists)."""
    empty = BitMap()
    retention = [
        (u, c, s, maps[(NEW, u, c)].intersection_cardinality(maps[(ANY, u, s)]))
        for u, c, s in sorted(pairs) if (NEW, u, c) in maps and (ANY, u, s) in maps
    ]
    lifecycle = []
    for unit, start in sorted(buckets):
        now, fresh = maps.get((ANY, unit, start), empty), maps.get((NEW, unit, start), empty)
        previous = maps.get((ANY, unit, previous_bucket(start, unit)), empty)
        if now or fresh or previous:
            lifecycle.append((unit, start, *lifecycle_of(now, fresh, previous)))
    return retention, lifecycle


async def _write(
    session: AsyncSession, retention: list[tuple[str, date, date, int]],
    lifecycle: list[tuple[str, date, int, int, int, int]],
) -> None:
    if retention:
        columns = list(zip(*retention, strict=True))
        await session.execute(
            text(
                """
                INSERT INTO retention_pairs (unit, cohort, start, active)
                SELECT * FROM unnest(CAST(:u AS text[]), CAST(:c AS date[]), CAST(:s AS date[]), CAST(:n AS int[]))
                ON CONFLICT (unit, cohort, start) DO UPDATE SET active = excluded.active
                WHERE retention_pairs.active IS DISTINCT FROM excluded.active
                """
            ),
            dict(zip(("u", "c", "s", "n"), (list(c) for c in columns), strict=True)),
        )
    if lifecycle:
        columns = list(zip(*lifecycle, strict=True))
        await session.execute(
            text(
                """
                INSERT INTO lifecycle_buckets (unit, start, new, returned, resurrected, dormant)
                SELECT * FROM unnest(CAST(:u AS text[]), CAST(:s AS date[]), CAST(:a AS int[]), CAST(:b AS int[]),
                                     CAST(:c AS int[]), CAST(:d AS int[]))
                ON CONFLICT (unit, start) DO UPDATE SET new = excluded.new, returned = excluded.returned,
                  resurrected = excluded.resurrected, dormant = excluded.dormant
                """
            ),
            dict(zip(("u", "s", "a", "b", "c", "d"), (list(c) for c in columns), strict=True)),
        )


async def refresh(session: AsyncSession, changed: dict[Key, BitMap]) -> None:
    """Recompute every count that reads one of these changed ``(kind, unit, start)`` bitmaps (their new contents).

    The caller holds :func:`lock` and has written the changed bitmaps; the
    other bitmaps the counts read are read in at most two statements.
    """
    relevant = {k: m for k, m in changed.items() if k[0] in (ANY, NEW)}
    if not relevant:
        return
    pairs, buckets = _plan(relevant)
    maps = await read_maps(session, {k for k in _needed(pairs, buckets) if k not in relevant})
    maps.update({k: m for k, m in relevant.items() if m})
    await _write(session, *compute(maps, pairs, buckets))


async def rebuild(session: AsyncSession) -> None:
    """Recompute both tables from every day and span bitmap (what a bulk load that wrote bitmaps only needs)."""
    await lock(session)
    await session.execute(text("DELETE FROM retention_pairs"))
    await session.execute(text("DELETE FROM lifecycle_buckets"))
    rows = await session.execute(
        text(
            """
            SELECT kind, 'day', day, members FROM day_bitmaps WHERE kind IN (:a, :n) AND cardinality > 0
            UNION ALL
            SELECT kind, unit, start, members FROM span_bitmaps WHERE kind IN (:a, :n) AND cardinality > 0
            """
        ),
        {"a": ANY, "n": NEW},
    )
    maps = {(kind, unit, start): BitMap.deserialize(bytes(stored)) for kind, unit, start, stored in rows}
    await _write(session, *compute(maps, *_plan(maps)))


# --- reads -----------------------------------------------------------------


async def retention_counts(
    session: AsyncSession, *, unit: str, cohorts: list[date], last_start: date, intervals: int
) -> dict[tuple[date, date], int]:
    """The kept ``(cohort, start) -> active`` of these whole cohort buckets, for the later buckets up to
    ``last_start`` at most ``intervals`` after their cohort (one row per cohort: its pairs as two arrays)."""
    if not cohorts:
        return {}
    rows = await session.execute(
        text(
            "SELECT cohort, array_agg(start), array_agg(active) FROM retention_pairs"
            " WHERE unit = :u AND cohort = ANY(CAST(:c AS date[])) AND start <= :s AND start - cohort <= :w"
            " GROUP BY cohort"
        ),
        {"u": unit, "c": cohorts, "s": last_start, "w": intervals * _MAX_DAYS[unit]},
    )
    out: dict[tuple[date, date], int] = {}
    for cohort, starts, actives in rows:
        out.update(zip(((cohort, s) for s in starts), actives, strict=True))
    return out


async def lifecycle_counts(session: AsyncSession, *, unit: str, starts: list[date]) -> dict[date, Lifecycle]:
    """The kept lifecycle of these whole buckets (missing ones are all zero)."""
    if not starts:
        return {}
    rows = await session.execute(
        text(
            "SELECT start, new, returned, resurrected, dormant FROM lifecycle_buckets"
            " WHERE unit = :u AND start = ANY(CAST(:s AS date[]))"
        ),
        {"u": unit, "s": starts},
    )
    return {start: (int(a), int(b), int(c), int(d)) for start, a, b, c, d in rows}


async def sizes(session: AsyncSession, *, unit: str, starts: list[date]) -> dict[date, int]:
    """Members of the ``new`` bitmap of these whole buckets (cohort sizes), from the stored cardinalities."""
    if not starts:
        return {}
    if unit == DAY:
        sql = "SELECT day, cardinality FROM day_bitmaps WHERE kind = :k AND day = ANY(CAST(:s AS date[]))"
        params = {"k": NEW, "s": starts}
    else:
        sql = ("SELECT start, cardinality FROM span_bitmaps"
               " WHERE kind = :k AND unit = :u AND start = ANY(CAST(:s AS date[]))")
        params = {"k": NEW, "u": unit, "s": starts}
    rows = await session.execute(text(sql), params)
    return {start: int(n) for start, n in rows}
