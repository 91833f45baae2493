"""Segments: validate definitions against the catalogue, evaluate them, save, freeze and page them."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pyroaring import BitMap64
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tagging_service.segments import errors, repository
from tagging_service.segments.evaluate import Evaluator, ranked
from tagging_service.segments.facts import FactCache
from tagging_service.segments.index import BitmapIndex
from tagging_service.segments.language import (
    DefinitionError,
    Node,
    Rank,
    SegmentClause,
    TagClause,
    leaves,
    parse_definition,
    parse_rank,
)
from tagging_service.segments.models import Segment
from tagging_service.segments.ranking import RankOrders
from tagging_service.segments.schemas import RankedMember, SegmentCreate, SegmentRead
from tagging_service.tags import repository as tags_repo

# How long a preview trusts the list of live tags it read (a deleted tag counts as empty meanwhile).
TAGS_TTL = 1.0


class SegmentEngine:
    """Evaluates definitions and saved segments over the process's bitmap index."""

    def __init__(self, index: BitmapIndex, tz: str, sessions: async_sessionmaker[AsyncSession] | None = None) -> None:
        self.index = index
        self.cache = FactCache(tz=tz, sessions=sessions)
        self.orders = RankOrders(tz=tz, sessions=sessions) if sessions is not None else None
        self._live_tags: set[int] = set()
        self._live_tags_at = -TAGS_TTL

    async def live_tags(self, session: AsyncSession, tag_ids: list[int]) -> set[int]:
        """Which of ``tag_ids`` are live tags: from a list of at most ``TAGS_TTL`` seconds while it knows them
        all (previews then need no query), else read again (a tag created a moment ago is never refused)."""
        wanted = set(tag_ids)
        if wanted <= self._live_tags and time.monotonic() - self._live_tags_at < TAGS_TTL:
            return wanted
        self._live_tags = await tags_repo.live_tag_ids(session)
        self._live_tags_at = time.monotonic()
        return wanted & self._live_tags

    async def members(self, session: AsyncSession, node: Node, stack: tuple[int, ...] = (), *,
                      fresh: bool = False) -> BitMap64:
        """Members of a parsed definition (``fresh``: facts read now, not from the last second's cache)."""
        await self.index.ready.wait()
        cache = FactCache(tz=self.cache.tz) if fresh else self.cache
        try:
            return await Evaluator(session, self.index, cache, self.segment_members, stack).members(node)
        except DefinitionError as exc:
            raise errors.invalid_definition(exc.errors) from None

    async def members_among(self, session: AsyncSession, node: Node, among: BitMap64) -> BitMap64:
        """Members of ``among`` matching ``node``, from fresh facts (rules: no cached values)."""
        return (await self.evaluate_fresh(session, node, among))[0]

    async def evaluate_fresh(self, session: AsyncSession, node: Node, among: BitMap64 | None = None
                             ) -> tuple[BitMap64, FactCache]:
        """Members (of ``among``, or all) matching ``node`` from facts read now, and the facts read (evidence)."""
        await self.index.ready.wait()
        cache = FactCache(tz=self.cache.tz, only=sorted(among) if among is not None else None)
        evaluator = Evaluator(session, self.index, cache, self.segment_members, (), universe=among)
        try:
            return await evaluator.members(node), cache
        except DefinitionError as exc:
            raise errors.invalid_definition(exc.errors) from None

    async def segment_members(self, session: AsyncSession, segment_id: int, stack: tuple[int, ...] = ()) -> BitMap64:
        """Members of a saved segment (a static one's frozen list)."""
        segment = await repository.get(session, segment_id)
        if segment is None:
            raise errors.segment_not_found()
        if segment.kind == "static" and segment.frozen is not None:
            return BitMap64.deserialize(segment.frozen) & self.index.members
        node = parse_definition(segment.definition)
        return await self.members(session, node, (*stack, segment_id))

    async def ranked_page(
        self, session: AsyncSession, members: BitMap64, rank: Rank | None, *, offset: int, limit: int
    ) -> list[RankedMember]:
        """One page of members in rank order."""
        if rank is None:
            # Unranked: by member number, straight from the bitmap (one select, then an ordered walk).
            if offset >= len(members):
                return []
            chosen = itertools.islice(members.iter_equal_or_larger(members[offset]), limit)
            return [RankedMember.model_construct(member_no=m, rank_value=None) for m in chosen]
        if self.orders is not None:
            # Ranked: walk the fact's pre-ordered members (no sort of the segment) when that is cheaper.
            order = await self.orders.get(session, rank)
            if order.worth_walking(members):
                return [RankedMember.model_construct(member_no=m, rank_value=v)
                        for m, v in order.page(members, offset, limit)]
        rows = await ranked(session, self.cache, members, rank)
        return [RankedMember.model_construct(member_no=m, rank_value=v) for m, v in rows[offset:offset + limit]]

    async def ranked_all(self, session: AsyncSession, members: BitMap64, rank: Rank | None
                         ) -> list[tuple[int, float | None]]:
        """Every member in rank order."""
        return await ranked(session, self.cache, members, rank)


async def validate(
    session: AsyncSession, definition: Any, rank: Any, *, self_id: int | None = None, path: str = "definition",
    live_tags: Callable[[AsyncSession, list[int]], Awaitable[set[int]]] | None = None,
) -> tuple[Node, Rank | None]:
    """Parse a definition and rank, and check every tag and segment they name (422 with field errors)."""
    problems: list[dict[str, str]] = []
    node: Node | None = None
    parsed_rank: Rank | None = None
    try:
        node = parse_definition(definition, path)
    except DefinitionError as exc:
        problems += exc.errors
    try:
        parsed_rank = parse_rank(rank)
    except DefinitionError as exc:
        problems += exc.errors
    if node is not None:
        found = leaves(node)
        tag_leaves = [leaf for leaf in found if isinstance(leaf.clause, TagClause)]
        named = [leaf.clause.tag for leaf in tag_leaves]  # type: ignore[union-attr]
        known_tags = (await live_tags(session, named) if live_tags is not None
                      else set(await tags_repo.tags_by_ids(session, named)))
        for leaf in tag_leaves:
            assert isinstance(leaf.clause, TagClause)
            if leaf.clause.tag not in known_tags:
                problems.append({"field": f"{leaf.path}.tag", "message": f"标签 {leaf.clause.tag} 不存在。",
                                 "code": "unknown_tag"})
        segment_leaves = [leaf for leaf in found if isinstance(leaf.clause, SegmentClause)]
        uses = [leaf.clause.segment for leaf in segment_leaves]  # type: ignore[union-attr]
        known_segments = await repository.existing(session, uses)
        for leaf in segment_leaves:
            assert isinstance(leaf.clause, SegmentClause)
            if leaf.clause.segment not in known_segments:
                problems.append({"field": f"{leaf.path}.segment", "message": f"人群 {leaf.clause.segment} 不存在。",
                                 "code": "unknown_segment"})
            elif self_id is not None and (
                leaf.clause.segment == self_id or await repository.reaches(session, [leaf.clause.segment], self_id)
            ):
                problems.append({"field": f"{leaf.path}.segment", "message": "人群之间不能循环引用。",
                                 "code": "segment_cycle"})
    if problems or node is None:
        raise errors.invalid_definition(problems)
    return node, parsed_rank


def references(node: Node) -> list[int]:
    """The saved segments a definition uses."""
    return [leaf.clause.segment for leaf in leaves(node) if isinstance(leaf.clause, SegmentClause)]


async def create(session: AsyncSession, body: SegmentCreate, *, staff_id: int) -> tuple[Segment, Node]:
    """Save a new (dynamic) segment."""
    node, _ = await validate(session, body.definition, body.rank)
    segment = Segment(name=body.name, description=body.description, definition=body.definition, rank=body.rank,
                      created_by=staff_id)
    session.add(segment)
    await session.flush()
    await _set_references(session, segment.id, references(node))
    return segment, node


async def replace(session: AsyncSession, segment: Segment, body: SegmentCreate, *, now: datetime) -> Segment:
    """Replace a segment's name, description, definition and rank."""
    node, _ = await validate(session, body.definition, body.rank, self_id=segment.id)
    segment.name, segment.description = body.name, body.description
    segment.definition, segment.rank, segment.updated_at = body.definition, body.rank, now
    await session.flush()
    await _set_references(session, segment.id, references(node))
    return segment


async def _set_references(session: AsyncSession, segment_id: int, uses: list[int]) -> None:
    # A referenced segment deleted since the check: the foreign key says so.
    try:
        async with session.begin_nested():
            await repository.set_references(session, segment_id, uses)
    except IntegrityError as exc:
        raise errors.invalid_definition(
            [{"field": "definition", "message": "引用的人群已被删除。", "code": "unknown_segment"}]
        ) from exc


async def delete(session: AsyncSession, segment: Segment) -> None:
    """Delete a segment no other segment uses."""
    if await repository.used_by(session, segment.id):
        raise errors.segment_in_use()
    try:
        async with session.begin_nested():
            await session.delete(segment)
            await session.flush()
    except IntegrityError as exc:  # another segment started using it meanwhile
        raise errors.segment_in_use() from exc


async def require(session: AsyncSession, segment_id: int) -> Segment:
    """A saved segment, or 404."""
    segment = await repository.get(session, segment_id)
    if segment is None:
        raise errors.segment_not_found()
    return segment


def read_of(segment: Segment, count: int) -> SegmentRead:
    """The API shape of a saved segment."""
    return SegmentRead(
        id=segment.id, name=segment.name, description=segment.description, kind=segment.kind,
        definition=segment.definition, rank=segment.rank, count=count, created_by=segment.created_by,
        created_at=segment.created_at, updated_at=segment.updated_at, frozen_at=segment.frozen_at,
    )
