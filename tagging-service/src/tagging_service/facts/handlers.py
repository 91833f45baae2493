"""Event handlers that keep the member facts: identity, campaign and mini-program activity.

Each handler runs in the consumer's transaction with the inbox claim, so a
redelivered event is never counted twice. Nothing here calls another service.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import parse
from shared.contracts.campaign import (
    ChannelTouched,
    CheckinRecorded,
    CheckinVoided,
    CommunityMemberSeen,
    PeriodOpened,
    RefundSettled,
    RegistrationCancelled,
    RegistrationCreated,
    RegistrationExpired,
    RegistrationPaid,
)
from shared.contracts.identity import MemberCreated, MemberFollowed, MemberUnfollowed, PhoneBound
from shared.contracts.messaging import MessageDelivered
from shared.events import Envelope
from shared.kafka.consumer import Handler
from tagging_service.facts import repository as facts
from tagging_service.facts.activity import record_activity
from tagging_service.facts.members import ensure_members
from tagging_service.timeline import repository as timeline


def fact_handlers(tz: ZoneInfo) -> dict[str, Handler]:
    """Handlers by event type (identity, campaign and app.activity topics)."""

    async def member_event(session: AsyncSession, member_no: int, envelope: Envelope, kind: str,
                           data: dict[str, object]) -> None:
        await ensure_members(session, [member_no])
        await timeline.add(session, member_no=member_no, at=envelope.occurred_at, kind=kind, data=data,
                           event_id=str(envelope.id))
        await facts.mark_dirty(session, [member_no])

    async def on_created(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberCreated)
        await ensure_members(session, [data.member_no])
        row = await facts.member(session, data.member_no)
        assert row is not None
        if row.member_since is None or row.member_since > envelope.occurred_at:
            row.member_since = envelope.occurred_at
        if row.first_channel is None and data.channel_scene:
            row.first_channel = data.channel_scene
        await session.flush()
        await member_event(session, data.member_no, envelope, "member.created",
                           {"app": data.app, "channel": data.channel_scene})

    async def on_phone(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PhoneBound)
        await ensure_members(session, [data.member_no])
        known = await facts.phone_of(session, data.member_no) if data.republished else None
        await facts.update_member(session, data.member_no, has_phone=True, phone_masked=data.phone_masked,
                                  phone_sealed=data.phone_sealed)
        # A republished binding (identity sending the sealed number of a phone bound before sealing)
        # is not a new fact: no second timeline entry when the member's phone is already known.
        if known != data.phone_masked:
            await member_event(session, data.member_no, envelope, "phone.bound", {"phone": data.phone_masked})

    async def on_followed(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberFollowed)
        await ensure_members(session, [data.member_no])
        await facts.update_member(session, data.member_no, follows_oa=True)
        await member_event(session, data.member_no, envelope, "oa.followed", {"scene": data.scene})

    async def on_unfollowed(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberUnfollowed)
        await ensure_members(session, [data.member_no])
        await facts.update_member(session, data.member_no, follows_oa=False)
        await member_event(session, data.member_no, envelope, "oa.unfollowed", {})

    async def on_period_opened(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PeriodOpened)
        await facts.set_period(session, data.period_id, data.series_id)

    async def on_registered(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationCreated)
        await ensure_members(session, [data.member_no])
        await facts.set_period(session, data.period_id, data.series_id)
        await facts.registration(session, data.member_no, data.period_id, registered_at=envelope.occurred_at,
                                 channel=data.channel, event_id=envelope.id)
        await facts.reopen_registration(session, data.member_no, data.period_id)
        await member_event(session, data.member_no, envelope, "registration.created",
                           {"series_id": data.series_id, "period_id": data.period_id, "fee_fen": data.fee_fen})

    async def on_paid(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationPaid)
        await ensure_members(session, [data.member_no])
        await facts.registration(session, data.member_no, data.period_id, paid_at=envelope.occurred_at,
                                 event_id=envelope.id)
        await member_event(session, data.member_no, envelope, "registration.paid",
                           {"period_id": data.period_id, "amount_fen": data.amount_fen})

    async def on_cancelled(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationCancelled)
        await facts.cancel_registration(session, data.member_no, data.period_id, envelope.occurred_at)
        await member_event(session, data.member_no, envelope, "registration.cancelled",
                           {"period_id": data.period_id, "reason": data.reason})

    async def on_expired(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RegistrationExpired)
        await facts.cancel_registration(session, data.member_no, data.period_id, envelope.occurred_at)
        await member_event(session, data.member_no, envelope, "registration.expired", {"period_id": data.period_id})

    async def on_checkin(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, CheckinRecorded)
        await ensure_members(session, [data.member_no])
        await facts.checkin(session, checkin_id=data.checkin_id, member_no=data.member_no,
                            period_id=data.period_id, day=data.local_date, voided=False, event_id=envelope.id)
        await facts.touch_active(session, data.member_no, envelope.occurred_at)
        await member_event(session, data.member_no, envelope, "checkin.recorded",
                           {"period_id": data.period_id, "local_date": data.local_date.isoformat()})

    async def on_checkin_voided(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, CheckinVoided)
        await facts.checkin(session, checkin_id=data.checkin_id, member_no=data.member_no,
                            period_id=data.period_id, day=data.local_date, voided=True)
        await member_event(session, data.member_no, envelope, "checkin.voided",
                           {"period_id": data.period_id, "local_date": data.local_date.isoformat()})

    async def on_refund(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RefundSettled)
        await ensure_members(session, [data.member_no])
        await facts.add_refund(session, data.member_no, data.period_id, data.amount_fen)
        await member_event(session, data.member_no, envelope, "refund.settled",
                           {"period_id": data.period_id, "amount_fen": data.amount_fen})

    async def on_seen(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, CommunityMemberSeen)
        await ensure_members(session, [data.member_no])
        first = await facts.sighting(session, member_no=data.member_no, community_id=data.community_id,
                                     open_gid=data.open_gid, period_id=data.period_id, at=envelope.occurred_at,
                                     event_id=envelope.id)
        await facts.touch_active(session, data.member_no, envelope.occurred_at)
        if first:
            await member_event(session, data.member_no, envelope, "group.seen",
                               {"community_id": data.community_id, "period_id": data.period_id})
        else:
            await facts.mark_dirty(session, [data.member_no])

    async def on_channel(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, ChannelTouched)
        await ensure_members(session, [data.member_no])
        row = await facts.member(session, data.member_no)
        if row is not None and row.first_channel is None and data.first_touch:
            row.first_channel = data.scene
            await session.flush()
            await facts.mark_dirty(session, [data.member_no])

    async def on_activity(session: AsyncSession, envelope: Envelope) -> None:
        await record_activity(session, [envelope], tz)

    async def on_delivered(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MessageDelivered)
        await member_event(session, data.member_no, envelope, "message.delivered",
                           {"send_id": data.send_id, "channel": data.channel, "status": data.status})

    return {
        "messaging.message.delivered": on_delivered,
        "identity.member.created": on_created,
        "identity.member.phone_bound": on_phone,
        "identity.member.followed": on_followed,
        "identity.member.unfollowed": on_unfollowed,
        "campaign.period.opened": on_period_opened,
        "campaign.registration.created": on_registered,
        "campaign.registration.paid": on_paid,
        "campaign.registration.cancelled": on_cancelled,
        "campaign.registration.expired": on_expired,
        "campaign.checkin.recorded": on_checkin,
        "campaign.checkin.voided": on_checkin_voided,
        "campaign.refund.settled": on_refund,
        "campaign.community.member_seen": on_seen,
        "campaign.channel.touched": on_channel,
        "app.activity.recorded": on_activity,
    }
