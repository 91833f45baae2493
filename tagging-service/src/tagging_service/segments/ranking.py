"""A ranked first page without sorting the segment: the fact's members pre-ordered by PostgreSQL.

For a rank (a fact and an order) PostgreSQL ships every member that has a
value, ordered by (value, member number), as two byteas (``int8send`` /
``float8send``): two flat arrays in this process, no Python object per member.
A page of a segment is then a walk of that order keeping the segment's members
(a bitmap lookup each), with the members whose value is 0 (every member
without a row, and those whose value is 0) taken from the bitmap in member
order at their place. The order is re-read only when the fact tables changed
(``fact_changes``), at least every ``FORCE_AFTER`` seconds, in the background.

When the segment is small beside the fact's members, sorting the segment by
the values is cheaper than the walk; the caller decides (``worth_walking``).
"""

from __future__ import annotations

import array
import asyncio
import bisect
import itertools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from pyroaring import BitMap64
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tagging_service.segments.facts import TTL, bitmap_of, fact_query, fact_version, unchanged_since_read
from tagging_service.segments.language import Rank

log = structlog.get_logger("tagging.ranking")
_BACKGROUND: set[asyncio.Task[None]] = set()
# Walk the order when the segment holds at least this share of the fact's members (else sort the segment).
WALK_MIN_SHARE = 1 / 64


def _negated(value: float) -> float:
    return -value


def _array(code: str, data: bytes | None) -> array.array[Any]:
    values = array.array(code)
    if data:
        values.frombytes(data)
        if sys.byteorder == "little":
            values.byteswap()
    return values


@dataclass
class RankOrder:
    """Members with a value of one fact in rank order, split around the value 0."""

    members: array.array[int]
    values: array.array[float]
    nonzero: BitMap64  # members whose value is not 0
    lead_end: int  # members[:lead_end]: before the zeros in this order (desc: > 0; asc: < 0)
    tail_start: int  # members[tail_start:]: after them
    version: int
    read_at: float
    checked_at: float
    version_seen_at: float

    def walk(self, segment: BitMap64) -> Iterator[tuple[int, float]]:
        """The segment's members in rank order (ties by member number), lazily."""
        members, values = self.members, self.values
        for i in range(self.lead_end):
            if members[i] in segment:
                yield members[i], values[i]
        for m in segment - self.nonzero:
            yield m, 0.0
        for i in range(self.tail_start, len(members)):
            if members[i] in segment:
                yield members[i], values[i]

    def page(self, segment: BitMap64, offset: int, limit: int) -> list[tuple[int, float]]:
        """One page of the segment in rank order."""
        return list(itertools.islice(self.walk(segment), offset, offset + limit))

    def worth_walking(self, segment: BitMap64) -> bool:
        """Whether walking beats sorting the segment (it holds a fair share of the ranked members)."""
        return len(segment) >= WALK_MIN_SHARE * len(self.members)


async def read_order(session: AsyncSession, rank: Rank, tz: str, previous: RankOrder | None = None) -> RankOrder:
    """Read the rank order of a fact from PostgreSQL."""
    version = await fact_version(session)
    query = fact_query(rank, tz)
    direction = "DESC" if rank.order == "desc" else "ASC"
    order = f"s.v {direction}, s.m"
    row = (await session.execute(text(
        f"SELECT string_agg(int8send(s.m), '' ORDER BY {order}), "  # noqa: S608
        f"string_agg(float8send(s.v), '' ORDER BY {order}), "
        f"string_agg(int8send(s.m), '') FILTER (WHERE s.v <> 0) "
        f"FROM ({query.aggregate()}) AS s(m, v)"), query.params)).one()
    members, values = _array("Q", row[0]), _array("d", row[1])
    # The zeros' place by bisection (a Python loop over a million values would hold the event loop).
    if rank.order == "desc":
        lead_end = bisect.bisect_left(values, 0.0, key=_negated)
        tail_start = bisect.bisect_right(values, 0.0, key=_negated)
    else:
        lead_end, tail_start = bisect.bisect_left(values, 0.0), bisect.bisect_right(values, 0.0)
    now = time.monotonic()
    seen_at = previous.version_seen_at if previous is not None and previous.version == version else now
    return RankOrder(members=members, values=values, nonzero=bitmap_of(row[2]), lead_end=lead_end,
                     tail_start=tail_start, version=version, read_at=now, checked_at=now, version_seen_at=seen_at)


@dataclass
class RankOrders:
    """The process's rank orders, re-validated in the background like fact clause bitmaps."""

    tz: str
    sessions: async_sessionmaker[AsyncSession]
    orders: dict[tuple[Any, ...], RankOrder] = field(default_factory=dict)
    _refreshing: set[tuple[Any, ...]] = field(default_factory=set)

    async def get(self, session: AsyncSession, rank: Rank) -> RankOrder:
        """The order of ``rank`` (read in line the first time, then served while re-validated)."""
        key = (*rank.key(), rank.order)
        cached = self.orders.get(key)
        if cached is None:
            found = await read_order(session, rank, self.tz)
            if len(self.orders) > 32:
                self.orders.clear()
            self.orders[key] = found
            return found
        if time.monotonic() - cached.checked_at >= TTL and key not in self._refreshing:
            self._refreshing.add(key)
            task = asyncio.create_task(self._revalidate(rank, key, cached))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)
        return cached

    async def _revalidate(self, rank: Rank, key: tuple[Any, ...], cached: RankOrder) -> None:
        try:
            async with self.sessions() as session:
                now = time.monotonic()
                version = await fact_version(session)
                if unchanged_since_read(cached.version, cached.version_seen_at, cached.read_at, version, now):
                    cached.checked_at = now
                else:
                    self.orders[key] = await read_order(session, rank, self.tz, cached)
        except Exception as exc:  # the stale order stays; the next request tries again
            log.warning("rank_order_refresh_failed", error=repr(exc))
        finally:
            self._refreshing.discard(key)
