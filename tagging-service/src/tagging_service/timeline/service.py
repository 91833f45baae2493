"""A member's timeline: projected events and tags, service notes and daily activity, newest first."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Invalid
from tagging_service.facts.models import DailyActivity, TimelineEntry
from tagging_service.notes.models import ServiceNote
from tagging_service.timeline.schemas import TimelineItem

# Sort key: (at, source, id); source breaks ties between the three streams.
Key = tuple[datetime, int, int]
SLACK = 200


def parse_cursor(cursor: dict[str, Any] | None) -> Key | None:
    """The position a cursor encodes."""
    if cursor is None:
        return None
    try:
        key = (datetime.fromisoformat(str(cursor["at"])), int(cursor["s"]), int(cursor["i"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise Invalid("分页游标无效。", slug="invalid-cursor") from None
    if key[0].tzinfo is None or not (0 <= key[1] <= 2) or abs(key[2]) > 2**62:
        raise Invalid("分页游标无效。", slug="invalid-cursor")
    return key


def cursor_of(key: Key) -> dict[str, Any]:
    """The cursor after ``key``."""
    return {"at": key[0].isoformat(), "s": key[1], "i": key[2]}


async def page(session: AsyncSession, member_no: int, *, before: Key | None, limit: int, tz: ZoneInfo
               ) -> tuple[list[TimelineItem], Key | None]:
    """One page of the merged streams, and the key of its last item when more follow."""
    fetch = limit + SLACK
    items: list[tuple[Key, TimelineItem]] = []

    stmt = select(TimelineEntry).where(TimelineEntry.member_no == member_no)
    if before is not None:
        stmt = stmt.where(TimelineEntry.at <= before[0])
    for entry in await session.scalars(stmt.order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc()).limit(fetch)):
        items.append(((entry.at, 1, entry.id), TimelineItem(at=entry.at, kind=entry.kind, data=entry.data)))

    notes = select(ServiceNote).where(ServiceNote.member_no == member_no)
    if before is not None:
        notes = notes.where(ServiceNote.created_at <= before[0])
    for note in await session.scalars(notes.order_by(ServiceNote.created_at.desc()).limit(fetch)):
        items.append(((note.created_at, 2, note.id), TimelineItem(
            at=note.created_at, kind=f"note.{note.kind}",
            data={"note_id": note.id, "text": note.text, "author_staff_id": note.author_staff_id,
                  "author_name": note.author_name},
        )))

    days = await session.execute(
        select(DailyActivity.day, DailyActivity.kind, DailyActivity.items, DailyActivity.duration_ms)
        .where(DailyActivity.member_no == member_no).order_by(DailyActivity.day.desc()).limit(fetch * 4)
    )
    summaries: dict[Any, dict[str, Any]] = {}
    for day, kind, count, duration in days:
        summary = summaries.setdefault(day, {"day": day.isoformat(), "items": {}, "duration_ms": 0})
        summary["items"][kind] = count
        summary["duration_ms"] += duration
    for day, summary in summaries.items():
        at = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz) - timedelta(seconds=1)
        if before is None or at <= before[0]:
            items.append(((at, 0, day.toordinal()), TimelineItem(at=at, kind="activity.daily", data=summary)))

    if before is not None:
        items = [(k, item) for k, item in items if k < before]
    items.sort(key=lambda pair: pair[0], reverse=True)
    chosen = items[:limit]
    more = len(items) > limit
    return [item for _, item in chosen], (chosen[-1][0] if more and chosen else None)
