"""Day-to-day counts derived from the day bitmaps: retention pairs and lifecycle days.

Retention and lifecycle at day granularity would otherwise intersect one day
bitmap per day of the range at every request (a cohort table of 90 days × 30
intervals is 2,700 intersections over 180 bitmaps read). They are kept
instead, as counts derived from the bitmaps and rewritten whenever a bitmap
they derive from changes:

``retention_days`` (cohort, day, active)
    How many of the members first seen on ``cohort`` (its ``new`` bitmap) were
    active on ``day`` (its ``any`` bitmap), for every ``0 <= day - cohort <=
    HORIZON`` where both bitmaps exist (a missing row is 0).
``lifecycle_days`` (day, new, returned, resurrected, dormant)
    The lifecycle of ``day`` against the day before: exactly what
    ``activity.service.lifecycle`` computes for one day bucket.

A count is never incremented: each is recomputed from the bitmaps as they
stand, so a redelivered event (whose OR changed no bitmap) changes nothing and
a merge's re-key is followed by the counts it touches. Writers of the day
bitmaps hold one transaction-level advisory lock (:func:`lock`) from before
their first row lock to their commit, so each recomputation reads every bitmap
as the last committed writer left it and no two writers' counts interleave.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The two day-bitmap kinds the counts derive from (``activity.bitmaps`` uses these names).
ANY, NEW = "any", "new"
# The most intervals ``/retention`` accepts: pairs are kept up to this many days after the cohort.
HORIZON = 60
# Serialises the writers of the day bitmaps (see the module docstring); any constant key of this service's own.
_LOCK_KEY = 0x6D657472  # "metr"

Lifecycle = tuple[int, int, int, int]  # new, returning, resurrecting, dormant


async def lock(session: AsyncSession) -> None:
    """Take the bitmap writers' lock until this transaction ends (re-entrant within it)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def lifecycle_of(now: BitMap, fresh: BitMap, previous: BitMap) -> Lifecycle:
    """New / returning / resurrecting / dormant of one bucket against the one before (the figure's rule)."""
    old = now - fresh
    returning = old.intersection_cardinality(previous)
    return len(fresh), returning, len(old) - returning, len(previous) - previous.intersection_cardinality(now)


def _plan(active_days: Iterable[date], new_days: Iterable[date]) -> tuple[set[tuple[date, date]], set[date]]:
    """The retention pairs and lifecycle days that read any of these changed bitmaps."""
    pairs: set[tuple[date, date]] = set()
    days: set[date] = set()
    for day in active_days:
        pairs.update((day - timedelta(days=k), day) for k in range(HORIZON + 1))
        days.update((day, day + timedelta(days=1)))
    for cohort in new_days:
        pairs.update((cohort, cohort + timedelta(days=k)) for k in range(HORIZON + 1))
        days.add(cohort)
    return pairs, days


async def _read(session: AsyncSession, wanted: set[tuple[str, date]]) -> dict[tuple[str, date], BitMap]:
    """The stored day bitmaps of these ``(kind, day)`` (missing or empty ones left out), one statement."""
    if not wanted:
        return {}
    keys = sorted(wanted)
    rows = await session.execute(
        text(
            """
            SELECT b.kind, b.day, b.members FROM day_bitmaps b
            JOIN unnest(CAST(:kinds AS text[]), CAST(:days AS date[])) AS t(k, d) ON b.kind = t.k AND b.day = t.d
            WHERE b.cardinality > 0
            """
        ),
        {"kinds": [k for k, _ in keys], "days": [d for _, d in keys]},
    )
    return {(kind, day): BitMap.deserialize(bytes(stored)) for kind, day, stored in rows}


def compute(
    maps: dict[tuple[str, date], BitMap], pairs: Iterable[tuple[date, date]], days: Iterable[date]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Rows of ``retention_days`` (pairs whose two bitmaps exist) and ``lifecycle_days`` (days with any input)."""
    empty = BitMap()
    retention = [
        {"cohort": c, "day": d, "n": maps[(NEW, c)].intersection_cardinality(maps[(ANY, d)])}
        for c, d in sorted(pairs) if (NEW, c) in maps and (ANY, d) in maps
    ]
    lifecycle = []
    for day in sorted(days):
        now, fresh = maps.get((ANY, day), empty), maps.get((NEW, day), empty)
        previous = maps.get((ANY, day - timedelta(days=1)), empty)
        if now or fresh or previous:
            new, returning, resurrecting, dormant = lifecycle_of(now, fresh, previous)
            lifecycle.append({"day": day, "new": new, "ret": returning, "res": resurrecting, "dor": dormant})
    return retention, lifecycle


async def _write(session: AsyncSession, retention: list[dict[str, object]], lifecycle: list[dict[str, object]]) -> None:
    if retention:
        await session.execute(
            text(
                """
                INSERT INTO retention_days (cohort, day, active)
                SELECT * FROM unnest(CAST(:cohorts AS date[]), CAST(:days AS date[]), CAST(:ns AS int[]))
                ON CONFLICT (cohort, day) DO UPDATE SET active = excluded.active
                WHERE retention_days.active IS DISTINCT FROM excluded.active
                """
            ),
            {"cohorts": [r["cohort"] for r in retention], "days": [r["day"] for r in retention],
             "ns": [r["n"] for r in retention]},
        )
    if lifecycle:
        await session.execute(
            text(
                """
                INSERT INTO lifecycle_days (day, new, returned, resurrected, dormant)
                SELECT * FROM unnest(CAST(:days AS date[]), CAST(:new AS int[]), CAST(:ret AS int[]),
                                     CAST(:res AS int[]), CAST(:dor AS int[]))
                ON CONFLICT (day) DO UPDATE SET new = excluded.new, returned = excluded.returned,
                  resurrected = excluded.resurrected, dormant = excluded.dormant
                """
            ),
            {"days": [r["day"] for r in lifecycle]}
            | {key: [r[key] for r in lifecycle] for key in ("new", "ret", "res", "dor")},
        )


async def refresh(session: AsyncSession, changed: dict[tuple[str, date], BitMap]) -> None:
    """Recompute every count that reads one of these changed ``(kind, day)`` bitmaps (their new contents).

    The caller holds :func:`lock` and has written the changed bitmaps; the
    other bitmaps the counts read are read in one statement.
    """
    active_days = [day for kind, day in changed if kind == ANY]
    new_days = [day for kind, day in changed if kind == NEW]
    if not active_days and not new_days:
        return
    pairs, days = _plan(active_days, new_days)
    wanted = {(NEW, c) for c, _ in pairs} | {(ANY, d) for _, d in pairs}
    wanted |= {(NEW, d) for d in days} | {(ANY, d) for d in days} | {(ANY, d - timedelta(days=1)) for d in days}
    maps = await _read(session, {k for k in wanted if k not in changed})
    maps.update({k: m for k, m in changed.items() if k[0] in (ANY, NEW) and m})
    await _write(session, *compute(maps, pairs, days))


async def rebuild(session: AsyncSession) -> None:
    """Recompute both tables from every day bitmap (what a bulk load that wrote days only needs)."""
    await lock(session)
    await session.execute(text("DELETE FROM retention_days"))
    await session.execute(text("DELETE FROM lifecycle_days"))
    rows = await session.execute(
        text("SELECT kind, day, members FROM day_bitmaps WHERE kind IN (:a, :n) AND cardinality > 0"),
        {"a": ANY, "n": NEW},
    )
    maps = {(kind, day): BitMap.deserialize(bytes(stored)) for kind, day, stored in rows}
    pairs, days = _plan([d for k, d in maps if k == ANY], [d for k, d in maps if k == NEW])
    retention, lifecycle = compute(maps, pairs, days)
    await _write(session, retention, lifecycle)


# --- reads -----------------------------------------------------------------


async def retention_counts(
    session: AsyncSession, *, first: date, last: date, intervals: int
) -> dict[date, dict[int, int]]:
    """Per cohort day of the range: active members ``k`` days later (``k <= intervals``, within the range)."""
    rows = await session.execute(
        text(
            """
            SELECT cohort, day - cohort, active FROM retention_days
            WHERE cohort BETWEEN :a AND :b AND day <= :b AND day - cohort <= :k
            """
        ),
        {"a": first, "b": last, "k": intervals},
    )
    out: dict[date, dict[int, int]] = {}
    for cohort, k, n in rows:
        out.setdefault(cohort, {})[int(k)] = int(n)
    return out


async def lifecycle_counts(session: AsyncSession, *, first: date, last: date) -> dict[date, Lifecycle]:
    """The kept lifecycle of each day of the range (missing days are all zero)."""
    rows = await session.execute(
        text(
            "SELECT day, new, returned, resurrected, dormant FROM lifecycle_days WHERE day BETWEEN :a AND :b"
        ),
        {"a": first, "b": last},
    )
    return {day: (int(a), int(b), int(c), int(d)) for day, a, b, c, d in rows}
