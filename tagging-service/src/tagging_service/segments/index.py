"""The in-memory bitmaps segments are evaluated on: one Roaring bitmap per tag, one of all members.

PostgreSQL is the source of truth. At start the index is rebuilt from
``member_tags`` and ``member_facts``; afterwards every process follows the
``index_changes`` log (written in the same transaction as each change), so a
tag applied through any replica is counted within one poll interval.

Ids missing below the highest one read are asked for again for a few seconds:
a transaction that took its change id before a concurrent one but committed
after it is still seen. Changes to one (tag, member) pair are ordered by the
row lock on ``member_tags``, so applying them in id order is correct.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from datetime import timedelta

import structlog
from pyroaring import BitMap64
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tagging_service.segments.facts import bitmap_of
from tagging_service.tags.models import IndexChange, Tag

log = structlog.get_logger("tagging.index")

LOOKBACK = timedelta(seconds=5)
RETENTION = timedelta(hours=1)
MAX_GAPS = 10_000


# One row per change (a bulk change names many members): its fields as arrays in id order, how many
# members each names, and all the members as one bytea of int8s in the same order (no Python int each).
_CHANGES = text(
    "SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(kind ORDER BY id), '{}'), "
    "coalesce(array_agg(key ORDER BY id), '{}'), coalesce(array_agg(added ORDER BY id), '{}'), "
    "coalesce(array_agg(cardinality(ms) ORDER BY id), '{}'), string_agg(packed, ''::bytea ORDER BY id) "
    "FROM (SELECT id, kind, key, added, ms, (SELECT string_agg(int8send(m), ''::bytea ORDER BY n) "
    "FROM unnest(ms) WITH ORDINALITY AS u(m, n)) AS packed "
    "FROM (SELECT id, kind, key, added, coalesce(member_nos, ARRAY[member_no]) AS ms FROM index_changes "
    "WHERE id > :last OR id = ANY(CAST(:gaps AS bigint[]))) AS c) AS p"
)


class BitmapIndex:
    """Per-tag member bitmaps and the universe of known members."""

    def __init__(self) -> None:
        self.tags: dict[int, BitMap64] = {}
        self.members = BitMap64()
        self.last_id = 0
        # Change ids below ``last_id`` not seen yet → when they were first missed.
        self.gaps: dict[int, float] = {}
        self.ready = asyncio.Event()
        # One refresh at a time: two interleaved ones could apply an older change after a newer one.
        self._refreshing = asyncio.Lock()

    def tag(self, tag_id: int) -> BitMap64:
        """Members carrying ``tag_id`` now (do not mutate)."""
        return self.tags.get(tag_id) or BitMap64()

    def tag_count(self, tag_id: int) -> int:
        """How many members carry ``tag_id``."""
        found = self.tags.get(tag_id)
        return len(found) if found is not None else 0

    async def rebuild(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Load every bitmap from the database."""
        async with sessions() as session:
            last = await session.scalar(select(func.coalesce(func.max(IndexChange.id), 0)))
            # One bytea of member numbers per tag (through the tag_id index): no Python int per row.
            tags: dict[int, BitMap64] = {}
            for tag_id in list(await session.scalars(select(Tag.id))):
                tags[tag_id] = bitmap_of(await session.scalar(
                    text("SELECT string_agg(int8send(member_no), '') FROM member_tags WHERE tag_id = :t"),
                    {"t": tag_id},
                ))
            members = bitmap_of(await session.scalar(
                text("SELECT string_agg(int8send(member_no), '') FROM member_facts WHERE merged_into IS NULL")
            ))
        self.tags, self.members, self.last_id = tags, members, int(last or 0)
        self.ready.set()
        log.info("index_rebuilt", tags=len(tags), members=len(members))

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Apply the changes logged since the last look; returns how many change rows were read.

        Ids are taken at insert and committed in any order, so an id missing
        below the highest one seen may still commit: such gaps are asked for
        again for ``LOOKBACK`` (a rolled-back id never shows up and is dropped).
        """
        async with self._refreshing:
            return await self._refresh(sessions)

    async def _refresh(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        # Arrays in id order (decoded by the driver) rather than a row object per change, and the members
        # packed: a back-fill changes thousands per statement, in the same process as the back-fill.
        async with sessions() as session:
            ids, kinds, keys, addeds, counts, packed = (await session.execute(_CHANGES, {
                "last": self.last_id, "gaps": list(self.gaps),
            })).one()
        packed = packed or b""
        now = time.monotonic()
        previous = self.last_id
        # Consecutive changes of one bitmap in one direction are applied as one update, in id order.
        offsets = [0, *itertools.accumulate(counts)]
        start = 0
        total = len(ids)
        while start < total:
            kind, key, added = kinds[start], keys[start], addeds[start]
            end = start + 1
            while end < total and addeds[end] == added and keys[end] == key and kinds[end] == kind:
                end += 1
            target = self.members if kind == "member" else self.tags.setdefault(key, BitMap64())
            run = bitmap_of(packed[8 * offsets[start]:8 * offsets[end]])
            if added:
                target |= run
            else:
                target -= run
            start = end
        if self.gaps:
            for change_id in ids:
                self.gaps.pop(change_id, None)
        fresh = [i for i in ids if i > previous]
        if fresh:
            seen = set(fresh)
            for missing in range(previous + 1, fresh[-1]):
                if missing not in seen and len(self.gaps) < MAX_GAPS:
                    self.gaps[missing] = now
            self.last_id = fresh[-1]
        for gap, since in list(self.gaps.items()):
            if now - since > LOOKBACK.total_seconds():
                del self.gaps[gap]
        return total

    async def follow(self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event,
                     interval: float) -> None:
        """Rebuild, then follow the change log until ``stop``."""
        while not stop.is_set():
            try:
                await self.rebuild(sessions)
                break
            except Exception as exc:  # database still starting
                log.warning("index_rebuild_failed", error=repr(exc))
                await _sleep(stop, 1.0)
        while not stop.is_set():
            try:
                await self.refresh(sessions)
            except Exception as exc:
                log.warning("index_refresh_failed", error=repr(exc))
            await _sleep(stop, interval)


async def prune(session: AsyncSession) -> None:
    """Forget changes every process has long applied."""
    await session.execute(delete(IndexChange).where(IndexChange.at < func.now() - RETENTION))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
