"""Traffic precision per channel: what each channel's touches and members became (registrations, payments)."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.channels import repository as channels
from campaign_service.channels.models import Channel
from campaign_service.channels.schemas import ChannelStats
from campaign_service.registrations.models import Registration


async def channel_stats(session: AsyncSession, rows: list[Channel]) -> list[ChannelStats]:
    """Scans, follows, launches, members, registrations, payments and paid fen of each channel."""
    ids = [c.id for c in rows]
    counts = await channels.stats(session, ids)
    if ids:
        paid = (Registration.confirmed_at.is_not(None)) & (Registration.fee_fen > 0)
        regs = await session.execute(
            select(
                Registration.channel_id,
                func.count(),
                func.count().filter(paid),
                func.coalesce(func.sum(case((paid, Registration.fee_fen), else_=0)), 0),
            )
            .where(Registration.channel_id.in_(ids))
            .group_by(Registration.channel_id)
        )
        for cid, count, payments, paid_fen in regs:
            counts[cid].update(registrations=count, payments=payments, paid_fen=int(paid_fen))
    return [ChannelStats(channel_id=c.id, code=c.code, name=c.name, **counts[c.id]) for c in rows]
