"""SQL of refunds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.settlement.models import Refund


async def add_if_absent(session: AsyncSession, values: dict) -> None:
    """Insert a refund unless one exists for the registration (closing twice changes nothing)."""
    await session.execute(insert(Refund).values(**values).on_conflict_do_nothing())


async def of_registration(session: AsyncSession, registration_id: int) -> Refund | None:
    """The refund of a registration."""
    return await session.scalar(select(Refund).where(Refund.registration_id == registration_id))


async def of_period(session: AsyncSession, period_id: int) -> list[Refund]:
    """A period's refunds by id."""
    return list(
        await session.scalars(select(Refund).where(Refund.period_id == period_id).order_by(Refund.id))
    )


async def by_out_refund_no(session: AsyncSession, out_refund_no: str) -> Refund | None:
    """A refund by our number, locked."""
    return await session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no).with_for_update())


async def next_due(session: AsyncSession, now: datetime) -> Refund | None:
    """One refund to request now, locked (other workers skip it)."""
    return await session.scalar(
        select(Refund)
        .where(
            Refund.state == "pending", or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= now)
        )
        .order_by(Refund.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def unfinished_count(session: AsyncSession, period_id: int) -> int:
    """Refunds of a period not yet succeeded (or not due)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Refund)
            .where(Refund.period_id == period_id, Refund.state.not_in(("not_due", "succeeded")))
        )
        or 0
    )


async def retry_failed(session: AsyncSession, period_id: int) -> int:
    """Put failed refunds back in the queue."""
    result = await session.execute(
        update(Refund)
        .where(Refund.period_id == period_id, Refund.state == "failed")
        .values(state="pending", attempts=0, next_attempt_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def release_held(session: AsyncSession, period_id: int) -> int:
    """Held refunds of a period become pending (the refund job sends them); returns how many."""
    result = await session.execute(
        update(Refund)
        .where(Refund.period_id == period_id, Refund.state == "held")
        .values(state="pending", next_attempt_at=None)
    )
    await session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
