"""A period's life: draft → open → running → closed → settled (or cancelled), by staff or by the scheduler.

Every move is recorded in the period's history with who or what made it.
The scheduler's moves lock their rows with ``SKIP LOCKED`` and re-check the
state, so with several replicas each move happens once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.lifecycle import cancellation
from campaign_service.lifecycle.cancellation import Canceller, period_starts_at
from campaign_service.payments.wechatpay import WeChatPayClient
from campaign_service.periods import repository
from campaign_service.periods.models import Period
from campaign_service.periods.schemas import PeriodPostpone
from campaign_service.periods.service import dates_of, plan_of
from campaign_service.registrations import repository as registrations
from campaign_service.settlement.service import close_period
from shared.contracts.campaign import PeriodCancelled, PeriodOpened, PeriodPostponed, PeriodStarted
from shared.errors import Conflict, Invalid
from shared.events.outbox import emit

# Staff may move a period along these edges; closed → settled is the system's (all refunds done).
TRANSITIONS: dict[str, set[str]] = {
    "draft": {"open"},
    "open": {"running"},
    "running": {"closed"},
    "closed": set(),
    "settled": set(),
    "cancelled": set(),
}
CANCELLABLE = ("draft", "open", "running")
POSTPONABLE = ("draft", "open")


@dataclass(frozen=True)
class Mover:
    """Who or what moves a period: a staff user (with id) or the scheduler."""

    kind: str
    id: int | None = None


SCHEDULER = Mover("scheduler")


def period_over(period: Period, now: datetime) -> bool:
    """Whether the last check-in window of the period (deadline + grace of its end date) has passed."""
    plan = plan_of(period)
    last = datetime.combine(period.end_date, plan.deadline, ZoneInfo(period.timezone))
    return now > last + timedelta(minutes=plan.grace_minutes)


async def transition(session: AsyncSession, period: Period, to: str, now: datetime, *, by: Mover) -> Period:
    """Move a period along an allowed edge; anything else is a 409."""
    if to not in TRANSITIONS.get(period.state, set()):
        raise Conflict(
            f"活动期不能从「{period.state}」变为「{to}」。",
            slug="invalid-transition",
            title="Invalid state transition",
            extra={"from": period.state, "to": to},
        )
    if to == "open" and not dates_of(period):
        raise Conflict("打卡计划中没有任何打卡日。", slug="empty-plan", title="Empty check-in plan")
    await _move(session, period, to, now, by=by)
    return period


async def _move(session: AsyncSession, period: Period, to: str, now: datetime, *, by: Mover) -> None:
    """Make one move with its history row, its side effects and its event.

    The row comes first: closing may settle the period at once (nothing due),
    and the history must read closed, then settled.
    """
    await repository.add_transition(
        session, period, from_state=period.state, to_state=to, at=now, by_kind=by.kind, by_id=by.id
    )
    if to == "open":
        period.state, period.opened_at = "open", now
        await emit(
            session,
            PeriodOpened(series_id=period.series_id, period_id=period.id, number=period.number,
                         capacity=period.capacity, fee_fen=period.fee_fen, reminder_time=period.reminder_time),
            member_no=None, key=f"period-{period.id}", occurred_at=now,
        )
    elif to == "running":
        period.state = "running"
        await emit(
            session,
            PeriodStarted(series_id=period.series_id, period_id=period.id, number=period.number,
                          late_join=period.late_join, reminder_time=period.reminder_time),
            member_no=None, key=f"period-{period.id}", occurred_at=now,
        )
    elif to == "closed":
        await close_period(session, period, now)
    else:  # pragma: no cover - TRANSITIONS lists every target
        raise AssertionError(to)
    await session.flush()


async def _due(session: AsyncSession, states: tuple[str, ...], before: datetime) -> list[Period]:
    """Periods in ``states`` that may be due (locked; rows another replica holds are skipped)."""
    return list(
        await session.scalars(
            select(Period)
            .where(Period.state.in_(states), Period.start_date <= before.date() + timedelta(days=1))
            .order_by(Period.id)
            .with_for_update(skip_locked=True)
        )
    )


async def start_due_periods(session: AsyncSession, now: datetime) -> int:
    """Open → running for periods whose first day has begun in their time zone."""
    started = 0
    for period in await _due(session, ("open",), now):
        if now >= period_starts_at(period):
            await _move(session, period, "running", now, by=SCHEDULER)
            started += 1
    return started


async def close_ended_periods(session: AsyncSession, now: datetime) -> int:
    """Open or running → closed once the last check-in window is over (closing computes the refunds)."""
    closed = 0
    for period in await _due(session, ("open", "running"), now):
        if period_over(period, now):
            await _move(session, period, "closed", now, by=SCHEDULER)
            closed += 1
    return closed


async def postpone(
    session: AsyncSession, period: Period, body: PeriodPostpone, now: datetime, *, by: Mover
) -> Period:
    """Move the dates of a period that has not started; its check-in plan follows the new dates."""
    if period.state not in POSTPONABLE or (period.state == "open" and now >= period_starts_at(period)):
        raise Conflict("活动期已开始，不能延期。", slug="period-started", title="Period already started")
    if body.end_date < body.start_date:
        raise Invalid(
            "结束日期不能早于开始日期。", slug="period-inconsistent",
            errors=[{"field": "body.end_date", "message": "结束日期不能早于开始日期", "code": "before_start"}],
        )
    closes = body.registration_closes_at or period.registration_closes_at
    if closes.tzinfo is None or closes <= period.registration_opens_at:
        raise Invalid("报名截止须晚于报名开始且带时区。", slug="period-inconsistent",
                      errors=[{"field": "body.registration_closes_at", "message": "报名截止须晚于报名开始",
                               "code": "before_opening"}])
    previous = period.start_date
    period.start_date, period.end_date, period.registration_closes_at = body.start_date, body.end_date, closes
    if not dates_of(period):
        raise Conflict("新的日期中没有任何打卡日。", slug="empty-plan", title="Empty check-in plan")
    await repository.add_transition(
        session, period, from_state=period.state, to_state=period.state, at=now, by_kind=by.kind, by_id=by.id,
        note=f"postponed: {previous.isoformat()} → {body.start_date.isoformat()}",
    )
    await emit(
        session,
        PeriodPostponed(series_id=period.series_id, period_id=period.id, start_date=period.start_date,
                        end_date=period.end_date, previous_start_date=previous),
        member_no=None, key=f"period-{period.id}", occurred_at=now,
    )
    await session.flush()
    return period


async def cancel(
    session: AsyncSession, period: Period, *, reason: str, staff_id: int, pay: WeChatPayClient | None,
    now: datetime,
) -> Period:
    """Call a period off: every registration holding a place is cancelled, paid ones refunded in full.

    Cancelling again is a no-op; each registration's cancellation (and refund) happens once.
    """
    if period.state == "cancelled":
        return period
    if period.state not in CANCELLABLE:
        raise Conflict("活动期已结束，不能取消。", slug="period-closed", title="Period closed")
    by = Canceller(kind="staff", id=staff_id, reason=reason, refund=True)
    ids = await registrations.active_ids_of_period(session, period.id)
    for registration_id in ids:
        await cancellation.cancel(session, registration_id=registration_id, by=by, pay=pay, now=now,
                                  period_id=period.id)
    await repository.add_transition(
        session, period, from_state=period.state, to_state="cancelled", at=now, by_kind="staff", by_id=staff_id,
        note=reason,
    )
    period.state, period.cancelled_at = "cancelled", now
    await emit(
        session,
        PeriodCancelled(series_id=period.series_id, period_id=period.id, reason=reason,
                        registrations_cancelled=len(ids)),
        member_no=None, key=f"period-{period.id}", occurred_at=now,
    )
    await session.flush()
    return period
