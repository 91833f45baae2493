"""SQL of check-ins."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.checkins.models import Checkin


async def find(session: AsyncSession, period_id: int, member_no: int, local_date: date) -> Checkin | None:
    """The member's check-in for one date."""
    return await session.scalar(
        select(Checkin).where(
            Checkin.period_id == period_id, Checkin.member_no == member_no, Checkin.local_date == local_date
        )
    )


async def insert_once(session: AsyncSession, values: dict) -> Checkin | None:
    """Insert unless the member already checked in that date; None when one existed."""
    new_id = await session.scalar(
        insert(Checkin)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["period_id", "member_no", "local_date"])
        .returning(Checkin.id)
    )
    return None if new_id is None else await session.get(Checkin, new_id)


async def of_member(session: AsyncSession, period_id: int, member_no: int) -> list[Checkin]:
    """A member's check-ins in a period, by date."""
    return list(
        await session.scalars(
            select(Checkin)
            .where(Checkin.period_id == period_id, Checkin.member_no == member_no)
            .order_by(Checkin.local_date)
        )
    )


async def of_period(
    session: AsyncSession, period_id: int, *, after_id: int | None = None, limit: int = 10_000
) -> list[Checkin]:
    """A period's check-ins by id."""
    stmt = select(Checkin).where(Checkin.period_id == period_id).order_by(Checkin.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Checkin.id > after_id)
    return list(await session.scalars(stmt))


async def get(session: AsyncSession, checkin_id: int, *, lock: bool = False) -> Checkin | None:
    """One check-in."""
    stmt = select(Checkin).where(Checkin.id == checkin_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)
