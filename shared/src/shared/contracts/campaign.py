"""campaign-service events (topic ``campaign.events``), keyed by member number."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shared.contracts import EventData, event
from shared.kafka.topics import CAMPAIGN_EVENTS


@event("campaign.registration.created", topic=CAMPAIGN_EVENTS)
class RegistrationCreated(EventData):
    """A member registered for a period (paid periods wait for payment)."""

    member_no: int
    registration_id: int
    series_id: int
    period_id: int
    fee_fen: int
    channel: str | None = None


@event("campaign.registration.paid", topic=CAMPAIGN_EVENTS)
class RegistrationPaid(EventData):
    """A registration's payment was confirmed."""

    member_no: int
    registration_id: int
    period_id: int
    amount_fen: int
    transaction_id: str


@event("campaign.registration.cancelled", topic=CAMPAIGN_EVENTS)
class RegistrationCancelled(EventData):
    """A registration was cancelled (by its member, by staff or by a merge of two members); its place was freed."""

    member_no: int
    registration_id: int
    period_id: int
    reason: str
    # Who cancelled: "member" or "staff" (absent in older events).
    cancelled_by: str | None = None
    by_staff_id: int | None = None
    # The full-fee refund queued with the cancellation (0 when none).
    refund_fen: int = 0
    out_refund_no: str | None = None


@event("campaign.registration.expired", topic=CAMPAIGN_EVENTS)
class RegistrationExpired(EventData):
    """A paid registration was not paid in time; its place was freed."""

    member_no: int
    registration_id: int
    period_id: int
    out_trade_no: str


@event("campaign.period.opened", topic=CAMPAIGN_EVENTS)
class PeriodOpened(EventData):
    """A period opened for registration."""

    series_id: int
    period_id: int
    number: int
    capacity: int
    fee_fen: int
    # When members are reminded to check in: "HH:MM" in Asia/Shanghai; None: messaging's default time.
    reminder_time: str | None = None


@event("campaign.period.closed", topic=CAMPAIGN_EVENTS)
class PeriodClosed(EventData):
    """A period ended; check-in rates and refunds were computed."""

    series_id: int
    period_id: int
    registrants: int
    refunds_due: int
    refund_total_fen: int


@event("campaign.period.settled", topic=CAMPAIGN_EVENTS)
class PeriodSettled(EventData):
    """Every refund of a closed period has been confirmed."""

    series_id: int
    period_id: int
    refund_total_fen: int


@event("campaign.period.started", topic=CAMPAIGN_EVENTS)
class PeriodStarted(EventData):
    """A period's first day began (open → running); registration stays open only with late joining."""

    series_id: int
    period_id: int
    number: int
    late_join: bool = False
    # When members are reminded to check in: "HH:MM" in Asia/Shanghai; None: messaging's default time.
    reminder_time: str | None = None


@event("campaign.period.postponed", topic=CAMPAIGN_EVENTS)
class PeriodPostponed(EventData):
    """Staff moved a period's dates before it started."""

    series_id: int
    period_id: int
    start_date: date
    end_date: date
    previous_start_date: date


@event("campaign.period.cancelled", topic=CAMPAIGN_EVENTS)
class PeriodCancelled(EventData):
    """Staff called a period off; every paid registration is refunded in full."""

    series_id: int
    period_id: int
    reason: str
    registrations_cancelled: int


@event("campaign.checkin.recorded", topic=CAMPAIGN_EVENTS)
class CheckinRecorded(EventData):
    """A member checked in for one local date of a period."""

    member_no: int
    checkin_id: int
    period_id: int
    local_date: date
    late: bool
    image_count: int


@event("campaign.checkin.voided", topic=CAMPAIGN_EVENTS)
class CheckinVoided(EventData):
    """Staff voided a check-in."""

    member_no: int
    checkin_id: int
    period_id: int
    local_date: date
    reason: str
    by_staff_id: int


@event("campaign.refund.issued", topic=CAMPAIGN_EVENTS)
class RefundIssued(EventData):
    """A refund request was accepted by WeChat Pay (confirmation follows)."""

    member_no: int
    refund_id: int
    period_id: int
    registration_id: int
    out_refund_no: str
    amount_fen: int


@event("campaign.refund.settled", topic=CAMPAIGN_EVENTS)
class RefundSettled(EventData):
    """WeChat Pay confirmed a refund."""

    member_no: int
    refund_id: int
    period_id: int
    out_refund_no: str
    amount_fen: int


@event("campaign.refund.failed", topic=CAMPAIGN_EVENTS)
class RefundFailed(EventData):
    """A refund failed (rejected, abnormal, closed, or retries exhausted)."""

    member_no: int
    refund_id: int
    period_id: int
    out_refund_no: str
    amount_fen: int
    error: str


@event("campaign.referral.credited", topic=CAMPAIGN_EVENTS)
class ReferralCredited(EventData):
    """An inviter was credited for an invitee (once per invitee)."""

    member_no: int
    invitee_member_no: int
    period_id: int | None = None


@event("campaign.community.member_seen", topic=CAMPAIGN_EVENTS)
class CommunityMemberSeen(EventData):
    """A member opened a card shared in a WeChat group.

    ``period_ids`` are the periods the group is linked to at that moment (a
    group may carry on from one period into the next), most recently linked
    first; ``period_id`` is the first of them (absent in older events and for
    groups not linked yet).
    """

    member_no: int
    open_gid: str
    community_id: int
    period_id: int | None = None
    period_ids: list[int] = Field(default_factory=list)


@event("campaign.community.linked", topic=CAMPAIGN_EVENTS)
class CommunityLinked(EventData):
    """Staff linked a WeChat group to a period (by hand or by accepting its proposal); other links stay.

    Keyed ``community-{community_id}``, so a group's links and unlinks keep their order.
    """

    community_id: int
    open_gid: str
    period_id: int
    series_id: int
    occurred_at: datetime


@event("campaign.community.unlinked", topic=CAMPAIGN_EVENTS)
class CommunityUnlinked(EventData):
    """Staff ended a WeChat group's link to a period; sightings made while linked keep counting for it."""

    community_id: int
    open_gid: str
    period_id: int
    series_id: int
    occurred_at: datetime


@event("campaign.channel.touched", topic=CAMPAIGN_EVENTS)
class ChannelTouched(EventData):
    """A member came in through a channel (first touch recorded)."""

    member_no: int
    channel_id: int
    scene: str
    first_touch: bool
