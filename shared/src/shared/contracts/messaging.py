"""messaging-service events (topic ``messaging.events``)."""

from __future__ import annotations

from typing import Literal

from shared.contracts import EventData, event
from shared.kafka.topics import MESSAGING_EVENTS


@event("messaging.message.delivered", topic=MESSAGING_EVENTS)
class MessageDelivered(EventData):
    """WeChat reported the outcome of a message sent to a member."""

    member_no: int
    send_id: int
    channel: Literal["subscribe", "template", "custom"]
    status: str
