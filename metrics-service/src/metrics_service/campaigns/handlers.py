"""Consumers of campaign-service's events: the period calendar, registrations, money, check-ins, channels."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity.handlers import touch
from metrics_service.campaigns import repository
from metrics_service.overview.repository import add_counters
from metrics_service.summaries.service import mark_member, mark_period, mark_series
from shared.contracts import parse
from shared.contracts.campaign import (
    ChannelTouched,
    CheckinRecorded,
    CheckinVoided,
    PeriodClosed,
    PeriodOpened,
    PeriodSettled,
    RefundFailed,
    RefundIssued,
    RefundSettled,
    RegistrationCancelled,
    RegistrationCreated,
    RegistrationExpired,
    RegistrationPaid,
)
from shared.events import Envelope


async def on_period_opened(session: AsyncSession, envelope: Envelope) -> None:
    """A period opened for registration."""
    data = parse(envelope, PeriodOpened)
    mark_period(session, data.period_id)
    mark_series(session, data.series_id)
    await repository.period_announced(
        session, period_id=data.period_id, series_id=data.series_id, number=data.number,
        fee_fen=data.fee_fen, at=envelope.occurred_at,
    )


async def on_period_closed(session: AsyncSession, envelope: Envelope) -> None:
    """A period ended."""
    data = parse(envelope, PeriodClosed)
    mark_period(session, data.period_id)
    mark_series(session, data.series_id)
    await repository.period_closed(
        session, period_id=data.period_id, series_id=data.series_id, at=envelope.occurred_at
    )


async def on_period_settled(session: AsyncSession, envelope: Envelope) -> None:
    """Every refund of a period was confirmed."""
    data = parse(envelope, PeriodSettled)
    mark_period(session, data.period_id)
    mark_series(session, data.series_id)
    await repository.period_settled(
        session, period_id=data.period_id, series_id=data.series_id, at=envelope.occurred_at
    )


async def on_registration_created(session: AsyncSession, envelope: Envelope) -> None:
    """A registration: counted on its day, its member active."""
    data = parse(envelope, RegistrationCreated)
    mark_period(session, data.period_id)
    mark_member(session, data.member_no)
    at = envelope.occurred_at
    await repository.registration_created(
        session, registration_id=data.registration_id, member_no=data.member_no, series_id=data.series_id,
        period_id=data.period_id, fee_fen=data.fee_fen, channel=data.channel, at=at,
    )
    await add_counters(session, {(definitions.local_day(at), "registrations"): 1})
    await touch(session, member_no=data.member_no, at=at)


async def on_registration_paid(session: AsyncSession, envelope: Envelope) -> None:
    """A payment: paid registrations and revenue of its day."""
    data = parse(envelope, RegistrationPaid)
    mark_period(session, data.period_id)
    mark_member(session, data.member_no)
    at = envelope.occurred_at
    await repository.registration_paid(
        session, registration_id=data.registration_id, amount_fen=data.amount_fen, at=at
    )
    day = definitions.local_day(at)
    await add_counters(session, {(day, "paid"): 1, (day, "revenue_fen"): data.amount_fen})
    await touch(session, member_no=data.member_no, at=at)


async def on_registration_cancelled(session: AsyncSession, envelope: Envelope) -> None:
    """A cancellation frees the member's place."""
    data = parse(envelope, RegistrationCancelled)
    mark_period(session, data.period_id)
    mark_member(session, data.member_no)
    await repository.registration_ended(
        session, registration_id=data.registration_id, how="cancelled", at=envelope.occurred_at
    )
    await add_counters(session, {(definitions.local_day(envelope.occurred_at), "cancellations"): 1})


async def on_registration_expired(session: AsyncSession, envelope: Envelope) -> None:
    """An unpaid registration lapsed."""
    data = parse(envelope, RegistrationExpired)
    mark_period(session, data.period_id)
    mark_member(session, data.member_no)
    await repository.registration_ended(
        session, registration_id=data.registration_id, how="expired", at=envelope.occurred_at
    )


async def on_refund_issued(session: AsyncSession, envelope: Envelope) -> None:
    """A refund was accepted by WeChat Pay."""
    data = parse(envelope, RefundIssued)
    mark_period(session, data.period_id)
    mark_member(session, data.member_no)
    await repository.refund_issued(
        session, refund_id=data.refund_id, registration_id=data.registration_id, period_id=data.period_id,
        member_no=data.member_no, amount_fen=data.amount_fen, at=envelope.occurred_at,
    )


async def on_refund_settled(session: AsyncSession, envelope: Envelope) -> None:
    """Refunds (fen) count on the day WeChat Pay confirmed them."""
    data = parse(envelope, RefundSettled)
    mark_period(session, data.period_id)
    await repository.refund_outcome(session, refund_id=data.refund_id, outcome="settled")
    day = definitions.local_day(envelope.occurred_at)
    await add_counters(session, {(day, "refunds"): 1, (day, "refunds_fen"): data.amount_fen})


async def on_refund_failed(session: AsyncSession, envelope: Envelope) -> None:
    """A failed refund is no refund."""
    data = parse(envelope, RefundFailed)
    mark_period(session, data.period_id)
    mark_member(session, data.member_no)
    await repository.refund_outcome(session, refund_id=data.refund_id, outcome="failed")


async def on_checkin_recorded(session: AsyncSession, envelope: Envelope) -> None:
    """A check-in: mini-program activity of its member."""
    data = parse(envelope, CheckinRecorded)
    mark_period(session, data.period_id)
    await repository.checkin_recorded(
        session, checkin_id=data.checkin_id, period_id=data.period_id, member_no=data.member_no,
        local_date=data.local_date,
    )
    await add_counters(session, {(definitions.local_day(envelope.occurred_at), "checkins"): 1})
    await touch(session, member_no=data.member_no, at=envelope.occurred_at, mini_program=True)


async def on_checkin_voided(session: AsyncSession, envelope: Envelope) -> None:
    """Staff voided a check-in."""
    data = parse(envelope, CheckinVoided)
    mark_period(session, data.period_id)
    await repository.checkin_voided(session, checkin_id=data.checkin_id)


async def on_channel_touched(session: AsyncSession, envelope: Envelope) -> None:
    """A member came in through a channel."""
    data = parse(envelope, ChannelTouched)
    mark_member(session, data.member_no)
    await repository.channel_touched(
        session, member_no=data.member_no, channel_id=data.channel_id, scene=data.scene, at=envelope.occurred_at
    )
    await touch(session, member_no=data.member_no, at=envelope.occurred_at)


HANDLERS = {
    "campaign.period.opened": on_period_opened,
    "campaign.period.closed": on_period_closed,
    "campaign.period.settled": on_period_settled,
    "campaign.registration.created": on_registration_created,
    "campaign.registration.paid": on_registration_paid,
    "campaign.registration.cancelled": on_registration_cancelled,
    "campaign.registration.expired": on_registration_expired,
    "campaign.refund.issued": on_refund_issued,
    "campaign.refund.settled": on_refund_settled,
    "campaign.refund.failed": on_refund_failed,
    "campaign.checkin.recorded": on_checkin_recorded,
    "campaign.checkin.voided": on_checkin_voided,
    "campaign.channel.touched": on_channel_touched,
}
