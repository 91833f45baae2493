"""Member bitmaps (Roaring): who was active, active in the mini-program, new, per local day, ISO week and month.

Distinct members over any range (WAU, MAU, lifecycle, retention, recently
active) are unions and intersections of these compressed sets, so no figure
counts distinct members over raw rows. Member numbers are allocated
increasing from 10001 and fit the 32-bit bitmaps.

Besides the ``day_bitmaps``, every member added to a day is added at the same
time to the ``span_bitmaps`` of that day's ISO week (Monday start) and calendar
month (Asia/Shanghai days, like the days). A span bitmap is by construction the
union of its days' bitmaps (OR is idempotent, so a redelivered event changes
nothing), and the first-seen (``new``) bitmap of a week or month is that
interval's cohort. A range is read as the fewest pieces that cover it
(:func:`pieces`: whole months, then whole weeks, then single days), so a
90-day figure reads a few dozen rows instead of 90 per series.

Retention and lifecycle read counts derived from the day and span bitmaps
instead (``activity.transitions``): every write here that changes an ``any``
or ``new`` bitmap recomputes the counts that read it, under the writers' lock
taken before the first row lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity import transitions
from metrics_service.activity.transitions import ANY as ANY
from metrics_service.activity.transitions import NEW as NEW

MINI_PROGRAM = "mp"
KINDS = (ANY, MINI_PROGRAM, NEW)
MAX_MEMBER = 2**32 - 1
WEEK, MONTH, DAY = "week", "month", "day"
SPAN_UNITS = (WEEK, MONTH)
# A week's or month's bitmap written back (ingest's OR, a merge's re-key).
_UPDATE_SPAN = text(
    "UPDATE span_bitmaps SET members = :members, cardinality = :n"
    " WHERE unit = :unit AND start = :start AND kind = :kind"
)


def _span_row(unit: str, start: date, kind: str, members: BitMap) -> dict[str, object]:
    """The parameters of :data:`_UPDATE_SPAN` for one span's bitmap."""
    return {"unit": unit, "start": start, "kind": kind, "members": members.serialize(), "n": len(members)}

Piece = tuple[str, date]  # (unit, start): a day, a whole ISO week or a whole calendar month


def bitmap(members: Iterable[int]) -> BitMap:
    """A bitmap of member numbers (numbers beyond 32 bits cannot be held and are left out)."""
    return BitMap(m for m in members if 0 <= m <= MAX_MEMBER)


def week_of(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    """The first day of the month holding ``day``."""
    return day.replace(day=1)


def next_month(start: date) -> date:
    """The first day of the month after the one holding ``start``."""
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def span_start(day: date, unit: str) -> date:
    """The start of the week or month holding ``day``."""
    return week_of(day) if unit == WEEK else month_of(day)


def pieces(first: date, last: date) -> list[Piece]:
    """The fewest day / whole-week / whole-month pieces whose days are exactly ``first``…``last``.

    A shortest path over the range's days (at most a few hundred): from each
    day, one day, a whole ISO week starting that Monday, or a whole month
    starting that first, whichever ends within the range.
    """
    n = (last - first).days + 1
    if n <= 0:
        return []
    best: list[tuple[int, Piece, int]] = [(0, (DAY, last), n)] * (n + 1)  # from day i: (pieces, first piece, next i)
    for i in range(n - 1, -1, -1):
        day = first + timedelta(days=i)
        options = [(DAY, day, i + 1)]
        if day.weekday() == 0 and i + 7 <= n:
            options.append((WEEK, day, i + 7))
        if day.day == 1:
            end = i + (next_month(day) - day).days
            if end <= n:
                options.append((MONTH, day, end))
        best[i] = min(((best[j][0] + 1, (unit, start), j) for unit, start, j in options), key=lambda o: o[0])
    out, i = [], 0
    while i < n:
        _, piece, i = best[i]
        out.append(piece)
    return out


def _spans(members: dict[tuple[date, str], set[int]]) -> dict[tuple[str, date, str], set[int]]:
    """What a batch adds to each week and month: the union of its days' members."""
    out: dict[tuple[str, date, str], set[int]] = defaultdict(set)
    for (day, kind), added in members.items():
        if added:
            for unit in SPAN_UNITS:
                out[(unit, span_start(day, unit), kind)] |= added
    return out


async def add(session: AsyncSession, members: dict[tuple[date, str], set[int]]) -> None:
    """Add members to the bitmaps of ``(day, kind)`` and of its week and month; rows locked in key order."""
    keys = sorted(k for k, v in members.items() if v)
    if not keys:
        return
    await transitions.lock(session)
    days, kinds = [k[0] for k in keys], [k[1] for k in keys]
    await session.execute(
        text(
            """
            INSERT INTO day_bitmaps (day, kind, members, cardinality)
            SELECT d, k, '\\x'::bytea, 0 FROM unnest(CAST(:days AS date[]), CAST(:kinds AS text[])) AS t(d, k)
            ON CONFLICT (day, kind) DO NOTHING
            """
        ),
        {"days": days, "kinds": kinds},
    )
    rows = await session.execute(
        text(
            """
            SELECT b.day, b.kind, b.members FROM day_bitmaps b
            JOIN unnest(CAST(:days AS date[]), CAST(:kinds AS text[])) AS t(d, k) ON b.day = t.d AND b.kind = t.k
            ORDER BY b.day, b.kind FOR UPDATE OF b
            """
        ),
        {"days": days, "kinds": kinds},
    )
    updates: list[dict[str, object]] = []
    changed: dict[tuple[str, str, date], BitMap] = {}
    for day, kind, stored in rows:
        current = BitMap.deserialize(bytes(stored)) if stored else BitMap()
        before = len(current)
        current |= bitmap(members[(day, kind)])
        if len(current) != before:
            updates.append({"day": day, "kind": kind, "members": current.serialize(), "n": len(current)})
            changed[(kind, DAY, day)] = current
    if updates:
        await session.execute(
            text("UPDATE day_bitmaps SET members = :members, cardinality = :n WHERE day = :day AND kind = :kind"),
            updates,
        )
    changed.update(await _add_spans(session, _spans({k: members[k] for k in keys})))
    await transitions.refresh(session, changed)


async def _add_spans(
    session: AsyncSession, spans: dict[tuple[str, date, str], set[int]]
) -> dict[tuple[str, str, date], BitMap]:
    """OR into the week and month bitmaps; returns the changed ones by ``(kind, unit, start)``."""
    keys = sorted(spans)
    if not keys:
        return {}
    params = {"units": [k[0] for k in keys], "starts": [k[1] for k in keys], "kinds": [k[2] for k in keys]}
    await session.execute(
        text(
            """
            INSERT INTO span_bitmaps (unit, start, kind, members, cardinality)
            SELECT u, s, k, '\\x'::bytea, 0
            FROM unnest(CAST(:units AS text[]), CAST(:starts AS date[]), CAST(:kinds AS text[])) AS t(u, s, k)
            ON CONFLICT (unit, start, kind) DO NOTHING
            """
        ),
        params,
    )
    rows = await session.execute(
        text(
            """
            SELECT b.unit, b.start, b.kind, b.members FROM span_bitmaps b
            JOIN unnest(CAST(:units AS text[]), CAST(:starts AS date[]), CAST(:kinds AS text[])) AS t(u, s, k)
              ON b.unit = t.u AND b.start = t.s AND b.kind = t.k
            ORDER BY b.unit, b.start, b.kind FOR UPDATE OF b
            """
        ),
        params,
    )
    updates: list[dict[str, object]] = []
    changed: dict[tuple[str, str, date], BitMap] = {}
    for unit, start, kind, stored in rows:
        current = BitMap.deserialize(bytes(stored)) if stored else BitMap()
        before = len(current)
        current |= bitmap(spans[(unit, start, kind)])
        if len(current) != before:
            updates.append(_span_row(unit, start, kind, current))
            changed[(kind, unit, start)] = current
    if updates:
        await session.execute(_UPDATE_SPAN, updates)
    return changed


async def read_pieces(
    session: AsyncSession, wanted: Iterable[tuple[str, Piece]]
) -> dict[tuple[str, Piece], BitMap]:
    """The stored bitmaps of these ``(kind, piece)`` (missing ones are empty and left out); two statements."""
    days = sorted({(kind, start) for kind, (unit, start) in wanted if unit == DAY})
    spans = sorted({(kind, unit, start) for kind, (unit, start) in wanted if unit != DAY})
    out: dict[tuple[str, Piece], BitMap] = {}
    if days:
        rows = await session.execute(
            text(
                """
                SELECT b.kind, b.day, b.members FROM day_bitmaps b
                JOIN unnest(CAST(:kinds AS text[]), CAST(:days AS date[])) AS t(k, d) ON b.kind = t.k AND b.day = t.d
                """
            ),
            {"kinds": [d[0] for d in days], "days": [d[1] for d in days]},
        )
        out.update({(kind, (DAY, day)): BitMap.deserialize(bytes(stored)) for kind, day, stored in rows if stored})
    if spans:
        rows = await session.execute(
            text(
                """
                SELECT b.kind, b.unit, b.start, b.members FROM span_bitmaps b
                JOIN unnest(CAST(:kinds AS text[]), CAST(:units AS text[]), CAST(:starts AS date[])) AS t(k, u, s)
                  ON b.unit = t.u AND b.start = t.s AND b.kind = t.k
                """
            ),
            {"kinds": [s[0] for s in spans], "units": [s[1] for s in spans], "starts": [s[2] for s in spans]},
        )
        out.update(
            {(kind, (unit, start)): BitMap.deserialize(bytes(stored)) for kind, unit, start, stored in rows if stored}
        )
    return out


async def unions_of(session: AsyncSession, ranges: list[tuple[str, date, date]]) -> list[BitMap]:
    """Members of each ``(kind, first, last)`` on any day of its range: each its fewest pieces, one read for all."""
    planned = [(kind, pieces(first, last)) for kind, first, last in ranges]
    stored = await read_pieces(session, [(kind, p) for kind, plan in planned for p in plan])
    out = []
    for kind, plan in planned:
        maps = [stored[(kind, p)] for p in plan if (kind, p) in stored]
        out.append(BitMap.union(*maps) if maps else BitMap())
    return out


async def unions(session: AsyncSession, *, kind: str, ranges: list[tuple[date, date]]) -> list[BitMap]:
    """Members of ``kind`` on any day of each range (one read for all)."""
    return await unions_of(session, [(kind, first, last) for first, last in ranges])


async def union(session: AsyncSession, *, kind: str, first: date, last: date) -> BitMap:
    """Members in the bitmaps of ``kind`` on any day of the range."""
    return (await unions(session, kind=kind, ranges=[(first, last)]))[0]


def _bucket_ranges(first: date, last: date, unit: str) -> list[tuple[date, date, date]]:
    """``(bucket start, first day in range, last day in range)`` of each week or month overlapping the range."""
    out = []
    start = span_start(first, unit)
    while start <= last:
        after = start + timedelta(days=7) if unit == WEEK else next_month(start)
        out.append((start, max(start, first), min(after - timedelta(days=1), last)))
        start = after
    return out


async def per_buckets(
    session: AsyncSession, wanted: list[tuple[str, date, date]], *, unit: str
) -> list[dict[date, BitMap]]:
    """:func:`per_bucket` of several ``(kind, first, last)`` at once (one read for all)."""
    if unit == DAY:
        return [await per_bucket(session, kind=kind, first=first, last=last, unit=unit) for kind, first, last in wanted]
    plans = [(kind, _bucket_ranges(first, last, unit)) for kind, first, last in wanted]
    maps = await unions_of(session, [(kind, a, b) for kind, plan in plans for _, a, b in plan])
    out, at = [], 0
    for _, plan in plans:
        out.append({s: m for (s, _, _), m in zip(plan, maps[at:at + len(plan)], strict=True) if m})
        at += len(plan)
    return out


async def per_bucket(
    session: AsyncSession, *, kind: str, first: date, last: date, unit: str
) -> dict[date, BitMap]:
    """Per bucket of ``unit`` (day, ISO week, month) overlapping the range: members of its days in the range.

    A bucket wholly inside the range is one stored row; the buckets cut by
    ``first`` or ``last`` are their pieces. Buckets with no member are left out.
    """
    if unit == DAY:
        return {day: members for day, members in (await per_day(session, kind=kind, first=first, last=last)).items()
                if members}
    return (await per_buckets(session, [(kind, first, last)], unit=unit))[0]


async def per_day(session: AsyncSession, *, kind: str, first: date, last: date) -> dict[date, BitMap]:
    """The bitmap of each day of the range that has one."""
    rows = await session.execute(
        text("SELECT day, members FROM day_bitmaps WHERE kind = :k AND day BETWEEN :a AND :b"),
        {"k": kind, "a": first, "b": last},
    )
    return {day: BitMap.deserialize(bytes(stored)) for day, stored in rows if stored}


async def cardinalities(session: AsyncSession, *, kind: str, first: date, last: date) -> dict[date, int]:
    """Members per day (DAU for ``any``), without reading the bitmaps."""
    rows = await session.execute(
        text("SELECT day, cardinality FROM day_bitmaps WHERE kind = :k AND day BETWEEN :a AND :b"),
        {"k": kind, "a": first, "b": last},
    )
    return {day: int(n) for day, n in rows}


async def rebuild_spans(session: AsyncSession) -> None:
    """Recompute every week and month bitmap from the day bitmaps (what a bulk load that wrote days only needs)."""
    await session.execute(text("DELETE FROM span_bitmaps"))
    rows = await session.execute(text("SELECT day, kind, members FROM day_bitmaps ORDER BY day, kind"))
    spans: dict[tuple[str, date, str], BitMap] = {}
    for day, kind, stored in rows:
        if not stored:
            continue
        members = BitMap.deserialize(bytes(stored))
        for unit in SPAN_UNITS:
            key = (unit, span_start(day, unit), kind)
            if key in spans:
                spans[key] |= members
            else:
                spans[key] = members.copy()
    if spans:
        await session.execute(
            text(
                "INSERT INTO span_bitmaps (unit, start, kind, members, cardinality)"
                " VALUES (:unit, :start, :kind, :members, :n)"
            ),
            [
                {"unit": u, "start": s, "kind": k, "members": m.serialize(), "n": len(m)}
                for (u, s, k), m in sorted(spans.items())
            ],
        )


async def merge_member(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """Move a merged member's days, weeks and months onto the kept number."""
    if not (0 <= from_no <= MAX_MEMBER and 0 <= into_no <= MAX_MEMBER):
        return
    await transitions.lock(session)
    rows = await session.execute(text("SELECT day, kind, members FROM day_bitmaps ORDER BY day, kind FOR UPDATE"))
    updates: list[dict[str, object]] = []
    changed: dict[tuple[str, str, date], BitMap] = {}
    for day, kind, stored in rows:
        current = BitMap.deserialize(bytes(stored)) if stored else BitMap()
        if from_no in current:
            current.discard(from_no)
            current.add(into_no)
            updates.append({"day": day, "kind": kind, "members": current.serialize(), "n": len(current)})
            changed[(kind, DAY, day)] = current
    if updates:
        await session.execute(
            text("UPDATE day_bitmaps SET members = :members, cardinality = :n WHERE day = :day AND kind = :kind"),
            updates,
        )
    rows = await session.execute(
        text("SELECT unit, start, kind, members FROM span_bitmaps ORDER BY unit, start, kind FOR UPDATE")
    )
    span_updates = []
    for unit, start, kind, stored in rows:
        current = BitMap.deserialize(bytes(stored)) if stored else BitMap()
        if from_no in current:
            current.discard(from_no)
            current.add(into_no)
            span_updates.append(_span_row(unit, start, kind, current))
            changed[(kind, unit, start)] = current
    if span_updates:
        await session.execute(_UPDATE_SPAN, span_updates)
    await transitions.refresh(session, changed)
