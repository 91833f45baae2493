"""SQL of series and periods."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.periods.models import Period, PeriodTransition, Series


async def get_series(session: AsyncSession, series_id: int, *, lock: bool = False) -> Series | None:
    """One series by id."""
    stmt = select(Series).where(Series.id == series_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def list_series(session: AsyncSession, *, after_id: int | None, limit: int) -> list[Series]:
    """Series by id."""
    stmt = select(Series).order_by(Series.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Series.id > after_id)
    return list(await session.scalars(stmt))


async def next_number(session: AsyncSession, series_id: int) -> int:
    """The next period number of a series (caller holds the series row lock)."""
    current = await session.scalar(select(func.max(Period.number)).where(Period.series_id == series_id))
    return int(current or 0) + 1


async def get_period(session: AsyncSession, period_id: int, *, lock: bool = False) -> Period | None:
    """One period by id."""
    stmt = select(Period).where(Period.id == period_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def periods_of(
    session: AsyncSession, series_ids: Sequence[int], *, states: Sequence[str] | None = None
) -> list[Period]:
    """Periods of some series, by series and number."""
    stmt = select(Period).where(Period.series_id.in_(series_ids)).order_by(Period.series_id, Period.number)
    if states is not None:
        stmt = stmt.where(Period.state.in_(states))
    return list(await session.scalars(stmt))


async def add_transition(
    session: AsyncSession, period: Period, *, from_state: str, to_state: str, at: datetime, by_kind: str,
    by_id: int | None = None, note: str | None = None,
) -> None:
    """Record a move of ``period`` in its history."""
    session.add(
        PeriodTransition(
            period_id=period.id, from_state=from_state, to_state=to_state, at=at, by_kind=by_kind,
            by_id=by_id, note=note,
        )
    )
    await session.flush()


async def transitions_of(session: AsyncSession, period_id: int) -> list[PeriodTransition]:
    """A period's history, oldest first."""
    return list(
        await session.scalars(
            select(PeriodTransition)
            .where(PeriodTransition.period_id == period_id)
            .order_by(PeriodTransition.at, PeriodTransition.id)
        )
    )
