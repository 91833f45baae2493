"""Campaign events (receipts, refund notices, the reminder projection) and the follow welcome."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.audience import repository as audience
from messaging_service.automations.service import (
    period_start_key,
    reminder_time_of,
    welcome_purpose,
    write,
    write_many,
    yuan,
)
from messaging_service.clock.service import Clock
from messaging_service.ledger import repository as ledger
from shared.contracts import REGISTRY, parse
from shared.contracts.campaign import (
    CheckinRecorded,
    CheckinVoided,
    PeriodCancelled,
    PeriodClosed,
    PeriodOpened,
    PeriodStarted,
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


async def _set_reminder_time(session: AsyncSession, period_id: int, envelope: Envelope) -> None:
    """The period's own reminder time, when the event carries the field (older events do not: kept as is)."""
    if "reminder_time" not in envelope.data:
        return
    await session.execute(
        text("UPDATE campaign_periods SET reminder_time = :t, updated_at = now() WHERE period_id = :p"),
        {"p": period_id, "t": reminder_time_of(envelope.data)},
    )


async def _write_period_starting(
    session: AsyncSession, *, period_id: int, members: list[int], data: dict[str, object], now: datetime
) -> int:
    """``period.starting`` to each member, once per member and period whatever the redeliveries."""
    # Set-based: one statement per chunk of members (a period's start fans out to all its registrants at once).
    return await write_many(session, purpose="period.starting", now=now,
                            rows=[(member_no, period_start_key(period_id, member_no), data) for member_no in members])


def handlers(clock_of: Clock | None, zone: str = "Asia/Shanghai") -> dict[str, Handler]:
    """The handlers, with the service clock (None while the contract test only wires them)."""

    def now() -> datetime:
        assert clock_of is not None
        return clock_of.now()

    async def on_opened(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PeriodOpened)
        await session.execute(
            text("""INSERT INTO campaign_periods (period_id, state) VALUES (:p, 'open')
                    ON CONFLICT (period_id) DO NOTHING"""), {"p": data.period_id})
        await _set_reminder_time(session, data.period_id, envelope)

    async def on_started(session: AsyncSession, envelope: Envelope) -> None:
        # The period's first day began: it runs from today (reminders), and every confirmed registrant
        # (paid, or registered for a free period) hears that it starts.
        data = parse(envelope, PeriodStarted)
        started_on = envelope.occurred_at.astimezone(ZoneInfo(zone)).date()
        await session.execute(
            text("""INSERT INTO campaign_periods (period_id, state, started_at, started_on, series_id, number)
                    VALUES (:p, 'open', :at, :on, :s, :n)
                    ON CONFLICT (period_id) DO UPDATE SET series_id = :s, number = :n,
                      started_at = COALESCE(campaign_periods.started_at, :at),
                      started_on = COALESCE(campaign_periods.started_on, :on), updated_at = now()"""),
            {"p": data.period_id, "at": envelope.occurred_at, "on": started_on, "s": data.series_id,
             "n": data.number})
        await _set_reminder_time(session, data.period_id, envelope)
        rows = await session.execute(
            text("""SELECT member_no FROM campaign_registrants WHERE period_id = :p AND state = 'confirmed'
                    ORDER BY member_no"""), {"p": data.period_id})
        await _write_period_starting(
            session, period_id=data.period_id, members=[int(r[0]) for r in rows], now=now(),
            data={"period_id": data.period_id, "series_id": data.series_id, "number": data.number,
                  "date": started_on.isoformat()})

    async def on_period_updated(session: AsyncSession, envelope: Envelope) -> None:
        period_id = envelope.data.get("period_id")
        if isinstance(period_id, int):
            await _set_reminder_time(session, period_id, envelope)

    async def on_period_cancelled(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PeriodCancelled)
        await session.execute(
            text("""INSERT INTO campaign_periods (period_id, state) VALUES (:p, 'closed')
                    ON CONFLICT (period_id) DO UPDATE SET state = 'closed', updated_at = now()"""),
            {"p": data.period_id})

    async def _paid_before_start(session: AsyncSession, envelope: Envelope, period_id: int, member_no: int
                                 ) -> None:
        # Events of one period come on several partitions (the registration's is its member's): a payment
        # made before the start but consumed after it still gets the period's starting message.
        row = (await session.execute(
            text("""SELECT started_at, started_on, series_id, number FROM campaign_periods
                    WHERE period_id = :p AND state = 'open' AND started_at IS NOT NULL"""),
            {"p": period_id})).first()
        if row is None or envelope.occurred_at > row[0]:
            return
        await _write_period_starting(
            session, period_id=period_id, members=[member_no], now=now(),
            data={"period_id": period_id, "series_id": row[2], "number": row[3], "date": row[1].isoformat()})

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
        if data.fee_fen == 0:
            await _paid_before_start(session, envelope, data.period_id, data.member_no)

    async def on_paid(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationPaid)
        await _registrant(session, data.period_id, data.member_no, "confirmed")
        await _paid_before_start(session, envelope, data.period_id, data.member_no)
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

    found: dict[str, Handler] = {
        "campaign.period.opened": on_opened,
        "campaign.period.started": on_started,
        "campaign.period.cancelled": on_period_cancelled,
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
    if "campaign.period.updated" in REGISTRY:  # campaign may announce a changed reminder time
        found["campaign.period.updated"] = on_period_updated
    return found
