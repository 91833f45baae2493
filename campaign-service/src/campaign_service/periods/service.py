"""Use cases of the catalogue: series and periods, numbering and editing rules (their life is in lifecycle/)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.periods import repository
from campaign_service.periods.models import Period
from campaign_service.periods.rules import CheckinPlan, RefundRule, plan_dates
from campaign_service.periods.schemas import PeriodCreate, PeriodPublic, PeriodUpdate
from shared.errors import Conflict, Invalid, NotFound

EDITABLE_AFTER_DRAFT = {"title", "capacity", "registration_closes_at", "late_join", "auto_settle", "reminder_time"}


def plan_of(period: Period) -> CheckinPlan:
    """The period's check-in plan."""
    return CheckinPlan.model_validate(period.checkin_plan)


def rule_of(period: Period) -> RefundRule:
    """The period's refund rule."""
    return RefundRule.model_validate(period.refund_rule)


def zone_of(period: Period) -> ZoneInfo:
    """The period's time zone."""
    return ZoneInfo(period.timezone)


def dates_of(period: Period) -> list[date]:
    """The period's plan dates."""
    return plan_dates(plan_of(period), period.start_date, period.end_date)


async def require_period(session: AsyncSession, period_id: int, *, lock: bool = False) -> Period:
    """A period or a 404."""
    period = await repository.get_period(session, period_id, lock=lock)
    if period is None:
        raise NotFound("活动期不存在。", slug="period-not-found", title="Period not found")
    return period


async def create_period(
    session: AsyncSession, series_id: int, body: PeriodCreate, default_zone: str
) -> Period:
    """Add the next numbered period to a series."""
    series = await repository.get_series(session, series_id, lock=True)
    if series is None:
        raise NotFound("系列不存在。", slug="series-not-found", title="Series not found")
    period = Period(
        series_id=series_id,
        number=await repository.next_number(session, series_id),
        title=body.title,
        state="draft",
        registration_opens_at=body.registration_opens_at,
        registration_closes_at=body.registration_closes_at,
        start_date=body.start_date,
        end_date=body.end_date,
        timezone=body.timezone or default_zone,
        capacity=body.capacity,
        taken=0,
        fee_fen=body.fee_fen,
        checkin_plan=body.checkin_plan.model_dump(mode="json"),
        refund_rule=body.refund_rule.model_dump(mode="json"),
        late_join=body.late_join,
        auto_settle=body.auto_settle,
        reminder_time=body.reminder_time,
    )
    session.add(period)
    await session.flush()
    return period


async def update_period(session: AsyncSession, period: Period, body: PeriodUpdate) -> Period:
    """Apply changes allowed in the period's state, then re-check its consistency."""
    changes = body.model_dump(exclude_unset=True)
    if period.state != "draft":
        locked = set(changes) - EDITABLE_AFTER_DRAFT
        if locked or period.state in ("closed", "settled", "cancelled"):
            raise Conflict(
                f"活动期已发布，不能再修改：{', '.join(sorted(locked)) or '任何字段'}。",
                slug="period-not-editable",
                title="Period not editable",
            )
    for field, value in changes.items():
        if field in ("checkin_plan", "refund_rule") and value is not None:
            value = getattr(body, field).model_dump(mode="json")
        if value is not None or field in PeriodUpdate.nullable:
            setattr(period, field, value)
    if period.capacity < period.taken:
        raise Conflict(
            "名额不能少于已报名人数。", slug="capacity-below-taken", title="Capacity below registrations"
        )
    if period.registration_closes_at <= period.registration_opens_at or period.end_date < period.start_date:
        raise Invalid("报名时间或活动日期不一致。", slug="period-inconsistent")
    await session.flush()
    return period


def public_view(period: Period, now: datetime) -> PeriodPublic:
    """The mini-program's view with the places left."""
    return PeriodPublic(
        id=period.id,
        series_id=period.series_id,
        number=period.number,
        title=period.title,
        state=period.state,
        registration_opens_at=period.registration_opens_at,
        registration_closes_at=period.registration_closes_at,
        registration_open_now=(period.state == "open" or (period.state == "running" and period.late_join))
        and period.registration_opens_at <= now < period.registration_closes_at,
        start_date=period.start_date,
        end_date=period.end_date,
        timezone=period.timezone,
        capacity=period.capacity,
        remaining=max(period.capacity - period.taken, 0),
        fee_fen=period.fee_fen,
        checkin_plan=plan_of(period),
        refund_rule=rule_of(period),
        planned_days=len(dates_of(period)),
        reminder_time=period.reminder_time,
    )
