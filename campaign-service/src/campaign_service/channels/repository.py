"""SQL of channels, touches and first touches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.channels.models import Channel, ChannelTouch, MemberChannel


async def get(session: AsyncSession, channel_id: int) -> Channel | None:
    """One channel."""
    return await session.get(Channel, channel_id)


async def by_code(session: AsyncSession, code: str) -> Channel | None:
    """The channel of a scene code."""
    return await session.scalar(select(Channel).where(Channel.code == code))


async def temporary_due(session: AsyncSession, before: datetime, limit: int) -> list[Channel]:
    """Temporary QR codes expiring before ``before``, soonest first, locked (other replicas skip them)."""
    return list(
        await session.scalars(
            select(Channel)
            .where(Channel.qr_kind == "temporary", Channel.qr_expires_at < before)
            .order_by(Channel.qr_expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


async def code_taken(session: AsyncSession, code: str) -> bool:
    """Whether a channel already uses ``code``."""
    return await session.scalar(select(func.count()).where(Channel.code == code)) != 0


async def page(session: AsyncSession, *, after_id: int | None, limit: int) -> list[Channel]:
    """Channels by id."""
    stmt = select(Channel).order_by(Channel.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Channel.id > after_id)
    return list(await session.scalars(stmt))


async def wxacode(session: AsyncSession, channel_id: int) -> bytes | None:
    """The stored mini-program code image."""
    return await session.scalar(select(Channel.wxacode_png).where(Channel.id == channel_id))


async def add_touch(
    session: AsyncSession,
    *,
    channel_id: int,
    kind: str,
    at: datetime,
    member_no: int | None = None,
    openid: str | None = None,
) -> None:
    """Record one touch."""
    session.add(ChannelTouch(channel_id=channel_id, kind=kind, at=at, member_no=member_no, openid=openid))
    await session.flush()


async def claim_first_touch(
    session: AsyncSession, *, member_no: int, channel_id: int, scene: str, source: str, at: datetime
) -> bool:
    """Record the member's first touch unless one exists; True when this is it."""
    inserted = await session.scalar(
        insert(MemberChannel)
        .values(member_no=member_no, channel_id=channel_id, scene=scene, source=source, touched_at=at)
        .on_conflict_do_nothing()
        .returning(MemberChannel.member_no)
    )
    return inserted is not None


async def first_touch(session: AsyncSession, member_no: int) -> MemberChannel | None:
    """The member's first-touch channel."""
    return await session.get(MemberChannel, member_no)


async def stats(session: AsyncSession, channel_ids: list[int]) -> dict[int, dict[str, int]]:
    """Touch and member counters per channel (registrations are counted in queries/channels.py)."""
    out: dict[int, dict[str, int]] = {
        cid: {
            "scans": 0,
            "follows": 0,
            "launches": 0,
            "members": 0,
            "registrations": 0,
            "payments": 0,
            "paid_fen": 0,
        }
        for cid in channel_ids
    }
    if not channel_ids:
        return out
    touches = await session.execute(
        select(ChannelTouch.channel_id, ChannelTouch.kind, func.count())
        .where(ChannelTouch.channel_id.in_(channel_ids))
        .group_by(ChannelTouch.channel_id, ChannelTouch.kind)
    )
    names = {"scan": "scans", "follow": "follows", "launch": "launches"}
    for cid, kind, count in touches:
        if kind in names:
            out[cid][names[kind]] = count
    members = await session.execute(
        select(MemberChannel.channel_id, func.count())
        .where(MemberChannel.channel_id.in_(channel_ids))
        .group_by(MemberChannel.channel_id)
    )
    for cid, count in members:
        out[cid]["members"] = count
    return out
