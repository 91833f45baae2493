"""SQL of saved segments and their references."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.segments.models import Segment, SegmentReference


async def get(session: AsyncSession, segment_id: int) -> Segment | None:
    """One saved segment."""
    return await session.get(Segment, segment_id)


async def page(session: AsyncSession, *, after_id: int | None, limit: int) -> list[Segment]:
    """Saved segments by id."""
    stmt = select(Segment).order_by(Segment.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Segment.id > after_id)
    return list(await session.scalars(stmt))


async def existing(session: AsyncSession, segment_ids: Iterable[int]) -> set[int]:
    """Which of ``segment_ids`` exist."""
    ids = list(set(segment_ids))
    if not ids:
        return set()
    return set(await session.scalars(select(Segment.id).where(Segment.id.in_(ids))))


async def reaches(session: AsyncSession, start_ids: Iterable[int], target: int) -> bool:
    """Whether ``target`` is reachable from any of ``start_ids`` through references (a cycle if saved)."""
    ids = list(set(start_ids))
    if not ids:
        return False
    found = await session.scalar(
        text("""WITH RECURSIVE walk(id) AS (
                  SELECT unnest(CAST(:ids AS bigint[]))
                  UNION SELECT r.uses_id FROM segment_references r JOIN walk w ON r.segment_id = w.id)
                SELECT 1 FROM walk WHERE id = :target LIMIT 1"""),
        {"ids": ids, "target": target},
    )
    return found is not None


async def set_references(session: AsyncSession, segment_id: int, uses: Iterable[int]) -> None:
    """Replace what a segment references."""
    await session.execute(delete(SegmentReference).where(SegmentReference.segment_id == segment_id))
    rows = [{"segment_id": segment_id, "uses_id": u} for u in sorted(set(uses))]
    if rows:
        await session.execute(insert(SegmentReference), rows)


async def used_by(session: AsyncSession, segment_id: int) -> bool:
    """Whether another segment references this one."""
    found = await session.scalar(select(SegmentReference.segment_id).where(SegmentReference.uses_id == segment_id)
                                 .limit(1))
    return found is not None
