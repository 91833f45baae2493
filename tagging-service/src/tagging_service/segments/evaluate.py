"""Evaluating a parsed definition over the bitmaps, and ranking the result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pyroaring import BitMap64
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.segments.facts import FactCache
from tagging_service.segments.index import BitmapIndex
from tagging_service.segments.language import (
    AttrClause,
    DefinitionError,
    FactClause,
    Leaf,
    Logical,
    Node,
    Rank,
    SegmentClause,
    TagClause,
)

# Loads the members of a saved segment (``stack``: the segments being evaluated, for cycles).
SegmentLoader = Callable[[AsyncSession, int, tuple[int, ...]], Awaitable[BitMap64]]


class Evaluator:
    """Turns a definition into the bitmap of its members."""

    def __init__(self, session: AsyncSession, index: BitmapIndex, cache: FactCache, segments: SegmentLoader,
                 stack: tuple[int, ...] = (), universe: BitMap64 | None = None) -> None:
        self.session = session
        self.universe = universe
        self.index = index
        self.cache = cache
        self.segments = segments
        self.stack = stack

    async def members(self, node: Node) -> BitMap64:
        """Members matching ``node`` (never outside the universe of known members)."""
        # A given universe (members whose facts just changed) is trusted: the index may lag it.
        universe = self.index.members if self.universe is None else self.universe
        if isinstance(node, Logical):
            if node.op == "not":
                return universe - await self.members(node.children[0])
            # Cheap clauses (tags) first: an empty AND stops early.
            children = sorted(node.children, key=lambda c: 0 if isinstance(c, Leaf) and
                              isinstance(c.clause, TagClause) else 1)
            result: BitMap64 | None = None
            for child in children:
                part = await self.members(child)
                if result is None:
                    result = part.copy()
                elif node.op == "and":
                    result &= part
                else:
                    result |= part
                if node.op == "and" and not result:
                    break
            return result if result is not None else BitMap64()
        clause = node.clause
        if isinstance(clause, TagClause):
            return self.index.tag(clause.tag) & universe
        if isinstance(clause, AttrClause):
            return await self.cache.attr(self.session, clause) & universe
        if isinstance(clause, FactClause):
            return await self.cache.fact(self.session, clause, universe)
        assert isinstance(clause, SegmentClause)
        if clause.segment in self.stack:
            raise DefinitionError([{"field": node.path + ".segment", "message": "人群之间存在循环引用。",
                                    "code": "segment_cycle"}])
        return await self.segments(self.session, clause.segment, self.stack) & universe


async def ranked(
    session: AsyncSession, cache: FactCache, members: BitMap64, rank: Rank | None
) -> list[tuple[int, float | None]]:
    """Members in rank order (ties and unranked: by member number)."""
    if rank is None:
        return [(m, None) for m in members]
    values = await cache.fact_values(session, rank)
    rows = [(m, values.get(m, 0.0)) for m in members]
    if rank.order == "desc":
        rows.sort(key=lambda r: (-r[1], r[0]))
    else:
        rows.sort(key=lambda r: (r[1], r[0]))
    return [(m, v) for m, v in rows]
