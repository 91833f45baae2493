"""SQL of the delivery log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.messages.models import Attempt, Message


async def page(
    session: AsyncSession, *, member_no: int | None, purpose: str | None, status: str | None,
    broadcast_id: int | None, before_id: int | None, limit: int,
) -> list[Message]:
    """Messages newest first, filtered, after the cursor."""
    stmt = select(Message).order_by(Message.id.desc()).limit(limit + 1)
    if member_no is not None:
        stmt = stmt.where(Message.member_no == member_no)
    if purpose is not None:
        stmt = stmt.where(Message.purpose == purpose)
    if status is not None:
        stmt = stmt.where(Message.status == status)
    if broadcast_id is not None:
        stmt = stmt.where(Message.broadcast_id == broadcast_id)
    if before_id is not None:
        stmt = stmt.where(Message.id < before_id)
    return list(await session.scalars(stmt))


async def attempts_of(session: AsyncSession, message_id: int) -> list[Attempt]:
    """Every attempt of a message, oldest first."""
    return list(await session.scalars(select(Attempt).where(Attempt.message_id == message_id).order_by(Attempt.id)))


async def recent_for(session: AsyncSession, member_no: int, limit: int = 10) -> list[Message]:
    """A member's latest messages."""
    return list(await session.scalars(
        select(Message).where(Message.member_no == member_no).order_by(Message.id.desc()).limit(limit)
    ))
