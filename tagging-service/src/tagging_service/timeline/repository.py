"""SQL of the timeline entries the projection keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.facts.models import TimelineEntry


async def add(
    session: AsyncSession, *, member_no: int, at: datetime, kind: str, data: dict[str, Any],
    event_id: str | None = None,
) -> None:
    """Record one timeline item."""
    session.add(TimelineEntry(member_no=member_no, at=at, kind=kind, data=data, event_id=event_id))


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record many timeline items in one statement (``member_no, at, kind, data``)."""
    if rows:
        await session.execute(insert(TimelineEntry), rows)


async def page(
    session: AsyncSession, member_no: int, *, before: tuple[datetime, int] | None, limit: int
) -> list[TimelineEntry]:
    """Entries newest first, strictly before ``(at, id)``."""
    stmt = (
        select(TimelineEntry).where(TimelineEntry.member_no == member_no)
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc()).limit(limit)
    )
    if before is not None:
        at, entry_id = before
        stmt = stmt.where(or_(TimelineEntry.at < at, and_(TimelineEntry.at == at, TimelineEntry.id < entry_id)))
    return list(await session.scalars(stmt))
