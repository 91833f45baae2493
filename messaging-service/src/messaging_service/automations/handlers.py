"""Campaign events (receipts, refund notices, the reminder projection) and the follow welcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.audience import repository as audience
from messaging_service.automations.service import welcome_purpose, write, yuan
from messaging_service.clock.service import Clock
from messaging_service.ledger import repository as ledger
from shared.contracts import parse
from shared.contracts.campaign import (
    CheckinRecorded,
    CheckinVoided,
    PeriodClosed,
    PeriodOpened,
    RefundSettled,
    RegistrationCancelled,
    RegistrationCreated,
    RegistrationExpired,
    RegistrationPaid,
)
from shared.contracts.identity import MemberFollowed
from shared.events import Envelope
from shared.kafka.consumer import Handler


async def _registrant(session: AsyncSession, period_id: int, member_no: int, state: str) -> None:
    await session.execute(
        text("""INSERT INTO campaign_registrants (period_id, member_no, state) VALUES (:p, :m, :s)
                ON CONFLICT (period_id, member_no) DO UPDATE SET state = :s"""),
        {"p": period_id, "m": member_no, "s": state},
    )


def handlers(clock_of: Clock | None) -> dict[str, Handler]:
    """The handlers, with the service clock (None while the contract test only wires them)."""

    def now() -> datetime:
        assert clock_of is not None
        return clock_of.now()

    async def on_opened(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PeriodOpened)
        await session.execute(
            text("""INSERT INTO campaign_periods (period_id, state) VALUES (:p, 'open')
                    ON CONFLICT (period_id) DO NOTHING"""), {"p": data.period_id})

    async def on_closed(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PeriodClosed)
        await session.execute(
            text("""INSERT INTO campaign_periods (period_id, state) VALUES (:p, 'closed')
                    ON CONFLICT (period_id) DO UPDATE SET state = 'closed', updated_at = now()"""),
            {"p": data.period_id})

    async def on_registered(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationCreated)
        await _registrant(session, data.period_id, data.member_no,
                          "confirmed" if data.fee_fen == 0 else "awaiting_payment")

    async def on_paid(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationPaid)
        await _registrant(session, data.period_id, data.member_no, "confirmed")
        await write(session, member_no=data.member_no, purpose="payment.receipt", now=now(),
                    key=f"event:{envelope.id}",
                    data={"amount": yuan(data.amount_fen), "period_id": data.period_id,
                          "transaction_id": data.transaction_id})

    async def on_cancelled(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationCancelled)
        await _registrant(session, data.period_id, data.member_no, "cancelled")

    async def on_expired(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationExpired)
        await _registrant(session, data.period_id, data.member_no, "cancelled")

    async def on_checkin(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, CheckinRecorded)
        await session.execute(
            text("""INSERT INTO campaign_checkins (period_id, member_no, local_date) VALUES (:p, :m, :d)
                    ON CONFLICT DO NOTHING"""), {"p": data.period_id, "m": data.member_no, "d": data.local_date})
        await session.execute(
            text("""INSERT INTO campaign_periods (period_id, state, first_checkin_date) VALUES (:p, 'open', :d)
                    ON CONFLICT (period_id) DO UPDATE SET first_checkin_date =
                      LEAST(COALESCE(campaign_periods.first_checkin_date, :d), :d)"""),
            {"p": data.period_id, "d": data.local_date})

    async def on_voided(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, CheckinVoided)
        await session.execute(
            text("DELETE FROM campaign_checkins WHERE period_id = :p AND member_no = :m AND local_date = :d"),
            {"p": data.period_id, "m": data.member_no, "d": data.local_date})

    async def on_refunded(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RefundSettled)
        await write(session, member_no=data.member_no, purpose="refund.notice", now=now(),
                    key=f"event:{envelope.id}",
                    data={"amount": yuan(data.amount_fen), "period_id": data.period_id,
                          "out_refund_no": data.out_refund_no})

    async def on_followed(session: AsyncSession, envelope: Envelope) -> None:
        # identity resolved the follower: project it, make sure the follow's window is known, welcome.
        data = parse(envelope, MemberFollowed)
        await audience.link_openid(session, openid=data.openid, app="oa", member_no=data.member_no)
        await audience.set_following(session, openid=data.openid, following=True, at=data.followed_at)
        await ledger.open_window(session, openid=data.openid, app="oa", interaction="event", at=data.followed_at)
        for purpose in welcome_purpose(data.scene):
            written = await write(session, member_no=data.member_no, purpose=purpose, now=now(),
                                  key=f"welcome:{data.openid}:{int(data.followed_at.timestamp())}",
                                  data={"scene": data.scene or ""})
            if written is not None:
                break

    return {
        "campaign.period.opened": on_opened,
        "campaign.period.closed": on_closed,
        "campaign.registration.created": on_registered,
        "campaign.registration.paid": on_paid,
        "campaign.registration.cancelled": on_cancelled,
        "campaign.registration.expired": on_expired,
        "campaign.checkin.recorded": on_checkin,
        "campaign.checkin.voided": on_voided,
        "campaign.refund.settled": on_refunded,
        "identity.member.followed": on_followed,
    }
