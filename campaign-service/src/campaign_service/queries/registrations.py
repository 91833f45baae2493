"""Read models that combine several aggregates (the member's registrations with calendar, rate and refund)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.checkins import repository as checkins
from campaign_service.checkins import service as checkin_service
from campaign_service.payments import repository as orders
from campaign_service.periods import repository as periods_repo
from campaign_service.registrations import repository, service
from campaign_service.registrations.schemas import MyRegistration
from campaign_service.settlement import repository as refunds


async def member_registrations(session: AsyncSession, member_no: int, now: datetime) -> list[MyRegistration]:
    """A member's periods with their check-in calendar, current rate and the refund it would earn now."""
    out = []
    for registration in await repository.registrations_of_member(session, member_no):
        period = await periods_repo.get_period(session, registration.period_id)
        assert period is not None
        mine = await checkins.of_member(session, period.id, member_no)
        rate, refund_now = checkin_service.rate_and_refund(period, mine, registration.fee_fen)
        refund = await refunds.of_registration(session, registration.id)
        order = await orders.latest_of_registration(session, registration.id)
        out.append(
            MyRegistration(
                registration=service.read_of(registration, order),
                period_title=period.title,
                series_id=period.series_id,
                period_number=period.number,
                period_state=period.state,
                start_date=period.start_date,
                end_date=period.end_date,
                calendar=checkin_service.calendar(period, mine, now),
                checked_days=rate.checked,
                planned_days=rate.planned,
                rate_percent=rate.percent,
                refund_now_fen=refund_now if registration.state == "confirmed" else 0,
                refund_state=refund.state if refund else None,
                refund_amount_fen=refund.amount_fen if refund else None,
            )
        )
    return out
