"""The blocklist: a ``system`` tag carrying author and reason, published as blocked/unblocked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.tagging import MemberBlocked, MemberUnblocked
from shared.events.outbox import emit
from tagging_service.blocklist.schemas import BlockRead
from tagging_service.tags import repository as tags_repo
from tagging_service.tags import service as tags
from tagging_service.tags.models import MemberTag

BLOCKED = "blocked"


def _read(member_no: int, row: MemberTag | None) -> BlockRead:
    if row is None:
        return BlockRead(member_no=member_no, blocked=False)
    return BlockRead(member_no=member_no, blocked=True, reason=row.reason, by_staff_id=row.source_id,
                     blocked_at=row.applied_at)


async def status(session: AsyncSession, member_no: int) -> BlockRead:
    """Whether the member is blocked."""
    tag = await tags_repo.system_tag(session, BLOCKED)
    return _read(member_no, await tags_repo.get_member_tag(session, member_no, tag.id))


async def block(session: AsyncSession, *, member_no: int, reason: str, staff_id: int, now: datetime) -> BlockRead:
    """Put a member on the blocklist (again: a new reason replaces the old one)."""
    tag = await tags_repo.system_tag(session, BLOCKED)
    existing = await tags_repo.get_member_tag(session, member_no, tag.id)
    if existing is not None:
        if existing.reason == reason:
            return _read(member_no, existing)
        existing.reason, existing.source_id = reason, staff_id
        await session.flush()
        row = existing
    else:
        row, _ = await tags.apply(session, tag=tag, member_no=member_no, source="staff", source_id=staff_id,
                                  now=now, reason=reason)
    await emit(session, MemberBlocked(member_no=member_no, reason=reason, by_staff_id=staff_id), member_no=member_no)
    return _read(member_no, row)


async def unblock(session: AsyncSession, *, member_no: int, staff_id: int, now: datetime) -> None:
    """Take a member off the blocklist (kept in the tag history); idempotent."""
    tag = await tags_repo.system_tag(session, BLOCKED)
    removed = await tags.remove(session, tag=tag, member_nos=[member_no], removed_by="staff",
                                removed_by_id=staff_id, now=now)
    if removed:
        await emit(session, MemberUnblocked(member_no=member_no, by_staff_id=staff_id), member_no=member_no)
