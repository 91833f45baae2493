"""Daily member bitmaps (Roaring): who was active, active in the mini-program, new, on each local day.

Distinct members over any range (WAU, MAU, lifecycle, retention, recently
active) are unions and intersections of at most a few hundred of these
compressed sets, so no figure counts distinct members over raw rows. Member
numbers are allocated increasing from 10001 and fit the 32-bit bitmaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ANY, MINI_PROGRAM, NEW = "any", "mp", "new"
KINDS = (ANY, MINI_PROGRAM, NEW)
MAX_MEMBER = 2**32 - 1


def bitmap(members: Iterable[int]) -> BitMap:
    """A bitmap of member numbers (numbers beyond 32 bits cannot be held and are left out)."""
    return BitMap(m for m in members if 0 <= m <= MAX_MEMBER)


async def add(session: AsyncSession, members: dict[tuple[date, str], set[int]]) -> None:
    """Add members to the bitmaps of ``(day, kind)``; rows are locked in key order (no deadlocks)."""
    keys = sorted(k for k, v in members.items() if v)
    if not keys:
        return
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
    updates = []
    for day, kind, stored in rows:
        current = BitMap.deserialize(bytes(stored)) if stored else BitMap()
        before = len(current)
        current |= bitmap(members[(day, kind)])
        if len(current) != before:
            updates.append({"day": day, "kind": kind, "members": current.serialize(), "n": len(current)})
    if updates:
        await session.execute(
            text("UPDATE day_bitmaps SET members = :members, cardinality = :n WHERE day = :day AND kind = :kind"),
            updates,
        )


async def per_day(session: AsyncSession, *, kind: str, first: date, last: date) -> dict[date, BitMap]:
    """The bitmap of each day of the range that has one."""
    rows = await session.execute(
        text("SELECT day, members FROM day_bitmaps WHERE kind = :k AND day BETWEEN :a AND :b"),
        {"k": kind, "a": first, "b": last},
    )
    return {day: BitMap.deserialize(bytes(stored)) for day, stored in rows if stored}


async def union(session: AsyncSession, *, kind: str, first: date, last: date) -> BitMap:
    """Members in the bitmaps of ``kind`` on any day of the range."""
    maps = list((await per_day(session, kind=kind, first=first, last=last)).values())
    return BitMap.union(*maps) if maps else BitMap()


async def cardinalities(session: AsyncSession, *, kind: str, first: date, last: date) -> dict[date, int]:
    """Members per day (DAU for ``any``), without reading the bitmaps."""
    rows = await session.execute(
        text("SELECT day, cardinality FROM day_bitmaps WHERE kind = :k AND day BETWEEN :a AND :b"),
        {"k": kind, "a": first, "b": last},
    )
    return {day: int(n) for day, n in rows}


async def merge_member(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """Move a merged member's days onto the kept number."""
    if not (0 <= from_no <= MAX_MEMBER and 0 <= into_no <= MAX_MEMBER):
        return
    rows = await session.execute(text("SELECT day, kind, members FROM day_bitmaps ORDER BY day, kind FOR UPDATE"))
    updates = []
    for day, kind, stored in rows:
        current = BitMap.deserialize(bytes(stored)) if stored else BitMap()
        if from_no in current:
            current.discard(from_no)
            current.add(into_no)
            updates.append({"day": day, "kind": kind, "members": current.serialize(), "n": len(current)})
    if updates:
        await session.execute(
            text("UPDATE day_bitmaps SET members = :members, cardinality = :n WHERE day = :day AND kind = :kind"),
            updates,
        )
