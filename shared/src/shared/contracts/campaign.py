"""campaign-service events (topic ``campaign.events``), keyed by member number."""

from __future__ import annotations

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
