"""Consumers: pay notifications, channel scans and follows, the blocklist and member merges."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.blocklist.models import BlockedMember
from campaign_service.channels import service as channels
from campaign_service.clock.service import Clock
from campaign_service.lifecycle.payments import confirm_payment
from campaign_service.settlement.service import on_refund_update
from shared.contracts import parse
from shared.contracts.gateway import PaymentSucceeded, RefundUpdated, Scanned, Subscribed
from shared.contracts.identity import MemberFollowed, MemberMerged
from shared.contracts.tagging import MemberBlocked, MemberUnblocked
from shared.events import Envelope
from shared.kafka.consumer import ConsumerSpec
from shared.kafka.topics import IDENTITY_EVENTS, TAGGING_EVENTS, WECHAT_INBOUND
from shared.runtime import ServiceRuntime

# Re-keying on a merge: rows that would collide with the survivor's (same period,
# same date) keep the retired number rather than break a unique constraint.
REKEY_SQL = [
    """UPDATE registrations r SET member_no = :into WHERE r.member_no = :from
       AND NOT (r.state IN ('awaiting_payment','confirmed') AND EXISTS (
         SELECT 1 FROM registrations s WHERE s.member_no = :into AND s.period_id = r.period_id
         AND s.state IN ('awaiting_payment','confirmed')))""",
    """UPDATE checkins c SET member_no = :into WHERE c.member_no = :from AND NOT EXISTS (
         SELECT 1 FROM checkins s WHERE s.member_no = :into AND s.period_id = c.period_id
         AND s.local_date = c.local_date)""",
    "UPDATE orders SET member_no = :into WHERE member_no = :from",
    "UPDATE refunds SET member_no = :into WHERE member_no = :from",
    """UPDATE blocked_members SET member_no = :into WHERE member_no = :from
       AND NOT EXISTS (SELECT 1 FROM blocked_members WHERE member_no = :into)""",
    # The older first touch wins; the survivor's own stays when it has one.
    """UPDATE member_channels SET member_no = :into WHERE member_no = :from
       AND NOT EXISTS (SELECT 1 FROM member_channels WHERE member_no = :into)""",
    "UPDATE channel_touches SET member_no = :into WHERE member_no = :from",
    """UPDATE community_members m SET member_no = :into WHERE m.member_no = :from
       AND NOT EXISTS (SELECT 1 FROM community_members s WHERE s.member_no = :into
       AND s.community_id = m.community_id)""",
    "UPDATE community_sightings SET member_no = :into WHERE member_no = :from",
    # A merge must not turn a referral into a self-referral: those are dropped.
    """DELETE FROM referrals WHERE (invitee_member_no = :from AND inviter_member_no = :into)
       OR (invitee_member_no = :into AND inviter_member_no = :from)""",
    """UPDATE referrals SET invitee_member_no = :into WHERE invitee_member_no = :from
       AND NOT EXISTS (SELECT 1 FROM referrals WHERE invitee_member_no = :into)""",
    "UPDATE referrals SET inviter_member_no = :into WHERE inviter_member_no = :from",
]


def consumers(runtime: ServiceRuntime) -> list[ConsumerSpec]:
    """The campaign service's consumers."""
    clock: Clock = runtime.extras["clock"]

    async def on_payment(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, PaymentSucceeded)
        if data.trade_state != "SUCCESS":
            return
        await confirm_payment(
            session,
            out_trade_no=data.out_trade_no,
            transaction_id=data.transaction_id,
            amount_fen=data.amount_total,
            now=clock.now(),
        )

    async def on_refund(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, RefundUpdated)
        await on_refund_update(
            session, out_refund_no=data.out_refund_no, status=data.refund_status, now=clock.now()
        )

    async def on_blocked(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberBlocked)
        await session.execute(
            insert(BlockedMember)
            .values(member_no=data.member_no, reason=data.reason, blocked_at=envelope.occurred_at)
            .on_conflict_do_update(
                index_elements=["member_no"], set_={"reason": data.reason, "blocked_at": envelope.occurred_at}
            )
        )

    async def on_unblocked(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberUnblocked)
        row = await session.get(BlockedMember, data.member_no)
        if row is not None:
            await session.delete(row)
            await session.flush()

    async def on_merged(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberMerged)
        params = {"from": data.from_member_no, "into": data.into_member_no}
        for sql in REKEY_SQL:
            await session.execute(text(sql), params)

    async def on_subscribed(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, Subscribed)
        if data.app == "oa" and data.scene:
            await channels.record_push(
                session, kind="follow", scene=data.scene, openid=data.openid, at=data.create_time
            )

    async def on_scanned(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, Scanned)
        if data.app == "oa":
            await channels.record_push(
                session, kind="scan", scene=data.scene, openid=data.openid, at=data.create_time
            )

    async def on_followed(session: AsyncSession, envelope: Envelope) -> None:
        # identity resolved the follower (or scanner) to a member: their first touch, maybe.
        data = parse(envelope, MemberFollowed)
        if data.scene:
            await channels.touch(
                session, scene=data.scene, member_no=data.member_no, source="oa", at=data.followed_at
            )

    return [
        ConsumerSpec(
            name="channels",
            topics=[WECHAT_INBOUND],
            handlers={
                "wechat.inbound.subscribed": on_subscribed,
                "wechat.inbound.scanned": on_scanned,
            },
        ),
        ConsumerSpec(
            name="payments",
            topics=[WECHAT_INBOUND],
            handlers={
                "wechat.inbound.payment_succeeded": on_payment,
                "wechat.inbound.refund_updated": on_refund,
            },
        ),
        ConsumerSpec(
            name="blocklist",
            topics=[TAGGING_EVENTS],
            handlers={
                "tagging.member.blocked": on_blocked,
                "tagging.member.unblocked": on_unblocked,
            },
        ),
        ConsumerSpec(
            name="members",
            topics=[IDENTITY_EVENTS],
            handlers={
                "identity.member.merged": on_merged,
                "identity.member.followed": on_followed,
            },
        ),
    ]
