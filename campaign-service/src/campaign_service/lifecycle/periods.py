"""A period's life: draft → open → running → closed → settled, moved by staff or by the scheduler."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.periods.models import Period
from campaign_service.periods.service import dates_of, plan_of
from campaign_service.settlement.service import close_period
from shared.contracts.campaign import PeriodOpened
from shared.errors import Conflict
from shared.events.outbox import emit

# Staff may move a period along these edges; closed → settled is the system's (all refunds done).
TRANSITIONS: dict[str, set[str]] = {
    "draft": {"open"},
    "open": {"running"},
    "running": {"closed"},
    "closed": set(),
    "settled": set(),
}


async def transition(session: AsyncSession, period: Period, to: str, now: datetime) -> Period:
    """Move a period along an allowed edge; anything else is a 409."""
    if to not in TRANSITIONS.get(period.state, set()):
        raise Conflict(
            f"活动期不能从「{period.state}」变为「{to}」。",
            slug="invalid-transition",
            title="Invalid state transition",
            extra={"from": period.state, "to": to},
        )
    if to == "open":
        if not dates_of(period):
            raise Conflict("打卡计划中没有任何打卡日。", slug="empty-plan", title="Empty check-in plan")
        period.opened_at = now
        await emit(
            session,
            PeriodOpened(
                series_id=period.series_id,
                period_id=period.id,
                number=period.number,
                capacity=period.capacity,
                fee_fen=period.fee_fen,
            ),
            member_no=None,
            key=f"period-{period.id}",
        )
    period.state = to
    if to == "closed":
        await close_period(session, period, now)
    await session.flush()
    return period


def period_over(period: Period, now: datetime) -> bool:
    """Whether the last check-in window of the period (deadline + grace of its end date) has passed."""
    plan = plan_of(period)
    last = datetime.combine(period.end_date, plan.deadline, ZoneInfo(period.timezone))
    return now > last + timedelta(minutes=plan.grace_minutes)


async def close_ended_periods(session: AsyncSession, now: datetime) -> int:
    """Close open or running periods whose last check-in window is over (replicas skip each other's rows)."""
    candidates = list(
        await session.scalars(
            select(Period)
            .where(Period.state.in_(("open", "running")), Period.end_date < now.date() + timedelta(days=1))
            .with_for_update(skip_locked=True)
        )
    )
    closed = 0
    for period in candidates:
        if period_over(period, now):
            await close_period(session, period, now)
            closed += 1
    return closed
