"""Checking in, voiding, and a member's calendar and rate."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.checkins import repository
from campaign_service.checkins.models import Checkin
from campaign_service.checkins.schemas import CheckinCreate
from campaign_service.periods import service as periods
from campaign_service.periods.models import Period
from campaign_service.periods.rules import Rate, checkin_rate, checkin_window, refund_amount
from campaign_service.registrations import repository as registrations
from campaign_service.registrations.schemas import CalendarDay
from shared.contracts.campaign import CheckinRecorded, CheckinVoided
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.outbox import emit


async def check_in(
    session: AsyncSession, *, period: Period, member_no: int, body: CheckinCreate, now: datetime
) -> tuple[Checkin, bool]:
    """Record today's check-in; a retry on the same local date returns the first one (created=False)."""
    if period.state not in ("open", "running"):
        raise Conflict("本期活动不在打卡阶段。", slug="period-not-running", title="Period not running")
    registration = await registrations.active_registration(session, period.id, member_no)
    if registration is None or registration.state != "confirmed":
        raise Forbidden("报名（并完成支付）后才能打卡。", slug="not-registered", title="Not registered")
    plan = periods.plan_of(period)
    local_now = now.astimezone(periods.zone_of(period))
    existing = await repository.find(session, period.id, member_no, local_now.date())
    if existing is not None:
        return existing, False
    window = checkin_window(plan, periods.dates_of(period), local_now)
    if window is None:
        raise Conflict("今天不是打卡日，或已过打卡截止时间。", slug="checkin-closed", title="Check-in closed")
    if plan.require_text and not body.text.strip():
        raise Invalid("打卡需要填写文字内容。", slug="checkin-text-required")
    if len(body.images) < plan.min_images:
        raise Invalid(f"打卡至少需要上传 {plan.min_images} 张图片。", slug="checkin-images-required")
    images = [str(url) for url in body.images]
    checkin = await repository.insert_once(
        session,
        {
            "period_id": period.id,
            "registration_id": registration.id,
            "member_no": member_no,
            "local_date": window.local_date,
            "text": body.text,
            "images": images,
            "late": window.late,
            "created_at": now,
        },
    )
    if checkin is None:  # a concurrent retry won
        found = await repository.find(session, period.id, member_no, window.local_date)
        assert found is not None
        return found, False
    await emit(
        session,
        CheckinRecorded(
            member_no=member_no,
            checkin_id=checkin.id,
            period_id=period.id,
            local_date=window.local_date,
            late=window.late,
            image_count=len(images),
        ),
        member_no=member_no,
        occurred_at=now,
    )
    return checkin, True


async def void(
    session: AsyncSession, *, period_id: int, checkin_id: int, reason: str, staff_id: int, now: datetime
) -> Checkin:
    """Void a check-in (it stops counting); voiding twice keeps the first reason."""
    checkin = await repository.get(session, checkin_id, lock=True)
    if checkin is None or checkin.period_id != period_id:
        raise NotFound("打卡记录不存在。", slug="checkin-not-found", title="Check-in not found")
    if checkin.voided_at is not None:
        return checkin
    period = await periods.require_period(session, checkin.period_id)
    if period.state in ("closed", "settled"):
        raise Conflict("活动期已结算，不能再作废打卡。", slug="period-closed", title="Period closed")
    checkin.voided_at, checkin.void_reason, checkin.voided_by = now, reason, staff_id
    await session.flush()
    await emit(
        session,
        CheckinVoided(
            member_no=checkin.member_no,
            checkin_id=checkin.id,
            period_id=checkin.period_id,
            local_date=checkin.local_date,
            reason=reason,
            by_staff_id=staff_id,
        ),
        member_no=checkin.member_no,
        occurred_at=now,
    )
    return checkin


def valid_dates(checkins: list[Checkin]) -> set[date]:
    """Dates with a check-in that still counts."""
    return {c.local_date for c in checkins if c.voided_at is None}


def calendar(period: Period, checkins: list[Checkin], now: datetime) -> list[CalendarDay]:
    """Each plan date with its status for the member."""
    today = now.astimezone(periods.zone_of(period)).date()
    by_date = {c.local_date: c for c in checkins}
    days = []
    for day in periods.dates_of(period):
        c = by_date.get(day)
        if c is not None:
            status = "voided" if c.voided_at else ("late" if c.late else "done")
        elif day < today:
            status = "missed"
        elif day == today:
            status = "today"
        else:
            status = "upcoming"
        days.append(CalendarDay(date=day, status=status, checkin_id=c.id if c is not None else None))
    return days


def rate_and_refund(period: Period, checkins: list[Checkin], fee_fen: int) -> tuple[Rate, int]:
    """The rate over the whole plan and the refund it earns (as if the period ended now)."""
    rate = checkin_rate(valid_dates(checkins), periods.dates_of(period))
    return rate, refund_amount(periods.rule_of(period), fee_fen, rate)
