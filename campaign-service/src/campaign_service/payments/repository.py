"""SQL of orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.payments.models import Order


async def by_out_trade_no(session: AsyncSession, out_trade_no: str, *, lock: bool = False) -> Order | None:
    """An order by our number."""
    stmt = select(Order).where(Order.out_trade_no == out_trade_no)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def latest_of_registration(
    session: AsyncSession, registration_id: int, *, lock: bool = False
) -> Order | None:
    """The newest order of a registration."""
    stmt = select(Order).where(Order.registration_id == registration_id).order_by(Order.id.desc()).limit(1)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def paid_of_registration(session: AsyncSession, registration_id: int) -> Order | None:
    """The paid order of a registration."""
    return await session.scalar(
        select(Order).where(Order.registration_id == registration_id, Order.state == "paid").limit(1)
    )


async def next_expired(session: AsyncSession, now: datetime) -> Order | None:
    """One unpaid order past its expiry, locked (others skip it)."""
    return await session.scalar(
        select(Order)
        .where(Order.state == "created", Order.expires_at <= now)
        .order_by(Order.expires_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
