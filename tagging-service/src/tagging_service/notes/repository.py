"""SQL of service records."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.notes.models import ServiceNote


async def get(session: AsyncSession, member_no: int, note_id: int) -> ServiceNote | None:
    """One note of one member."""
    note = await session.get(ServiceNote, note_id)
    return note if note is not None and note.member_no == member_no else None


async def page(session: AsyncSession, member_no: int, *, before_id: int | None, limit: int) -> list[ServiceNote]:
    """A member's notes, newest first."""
    stmt = select(ServiceNote).where(ServiceNote.member_no == member_no).order_by(ServiceNote.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(ServiceNote.id < before_id)
    return list(await session.scalars(stmt))


async def rekey(session: AsyncSession, from_member_no: int, into_member_no: int) -> None:
    """Move a merged member's notes to the survivor."""
    await session.execute(
        update(ServiceNote).where(ServiceNote.member_no == from_member_no).values(member_no=into_member_no)
    )
