"""messaging-service events (topic ``messaging.events``), keyed by member number.

A message's life: ``requested`` (accepted, possibly held), then one of
``sent`` (WeChat answered errcode 0), ``failed`` (WeChat refused or a
transient error outlasted the retries; ``unknown_outcome`` when a call timed
out and was never resent) or ``undeliverable`` (no channel could reach the
member; nothing was sent); after ``sent``, ``delivered`` carries WeChat's
asynchronous result. A message routed in the moment it is requested (a plain
send on messaging's hot path) has no separate ``requested``: its outcome event
stands for the request too, and ``message_class`` (on ``sent``, ``failed`` and
``undeliverable`` since this was so) carries what ``requested`` would have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts import EventData, event
from shared.kafka.topics import MESSAGING_EVENTS

Channel = Literal["subscribe", "template", "custom"]


@event("messaging.message.requested", topic=MESSAGING_EVENTS)
class MessageRequested(EventData):
    """A service or staff asked to write to a member for a purpose."""

    member_no: int
    message_id: int
    purpose: str
    message_class: Literal["transactional", "marketing"]
    send_at: datetime | None = None
    broadcast_id: int | None = None


@event("messaging.message.sent", topic=MESSAGING_EVENTS)
class MessageSent(EventData):
    """WeChat accepted the message on ``channel`` (errcode 0)."""

    member_no: int
    message_id: int
    purpose: str
    channel: Channel
    template_id: str | None = None
    wechat_msgid: str | None = None
    fell_back: bool = False
    message_class: Literal["transactional", "marketing"] | None = None


@event("messaging.message.failed", topic=MESSAGING_EVENTS)
class MessageFailed(EventData):
    """The send failed after WeChat was called (``reason`` from the enumerated set)."""

    member_no: int
    message_id: int
    purpose: str
    channel: Channel | None = None
    reason: str
    errcode: int | None = None
    message_class: Literal["transactional", "marketing"] | None = None


@event("messaging.message.undeliverable", topic=MESSAGING_EVENTS)
class MessageUndeliverable(EventData):
    """No channel could reach the member; WeChat was not called (or refused every channel)."""

    member_no: int
    message_id: int
    purpose: str
    reason: str
    reasons: list[str] = Field(default_factory=list)
    message_class: Literal["transactional", "marketing"] | None = None


@event("messaging.message.delivered", topic=MESSAGING_EVENTS)
class MessageDelivered(EventData):
    """WeChat reported the outcome of a message sent to a member."""

    member_no: int
    send_id: int
    channel: Literal["subscribe", "template", "custom"]
    status: str
