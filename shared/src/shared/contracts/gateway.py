"""Events the gateway publishes: ``wechat.inbound`` pushes and ``app.activity`` telemetry.

WeChat pushes are keyed by the sender's openid (the member number is not known
at the edge); identity resolves the member when it consumes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.contracts import EventData, event
from shared.kafka.topics import APP_ACTIVITY, WECHAT_INBOUND

AppKind = Literal["mp", "oa"]


class InboundBase(EventData):
    """Fields every normalised push carries."""

    app: AppKind
    appid: str
    openid: str
    to_user: str
    create_time: datetime


@event("wechat.inbound.subscribed", topic=WECHAT_INBOUND)
class Subscribed(InboundBase):
    """A user followed the service account (scene from a channel QR code, if any)."""

    scene: str | None = None
    ticket: str | None = None


@event("wechat.inbound.unsubscribed", topic=WECHAT_INBOUND)
class Unsubscribed(InboundBase):
    """A user unfollowed the service account."""


@event("wechat.inbound.scanned", topic=WECHAT_INBOUND)
class Scanned(InboundBase):
    """A follower scanned a scene QR code."""

    scene: str
    ticket: str | None = None


@event("wechat.inbound.message", topic=WECHAT_INBOUND)
class MessageReceived(InboundBase):
    """A user message (text, image, voice, ...)."""

    msg_type: str
    msg_id: str | None = None
    content: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


@event("wechat.inbound.menu_clicked", topic=WECHAT_INBOUND)
class MenuClicked(InboundBase):
    """A CLICK or VIEW menu event."""

    kind: Literal["CLICK", "VIEW"]
    key: str


@event("wechat.inbound.location", topic=WECHAT_INBOUND)
class LocationReported(InboundBase):
    """A LOCATION event."""

    latitude: float
    longitude: float
    precision: float | None = None


@event("wechat.inbound.template_send_finished", topic=WECHAT_INBOUND)
class TemplateSendFinished(InboundBase):
    """TEMPLATESENDJOBFINISH: the delivery result of a template message."""

    msg_id: str
    status: str


@event("wechat.inbound.subscribe_popup", topic=WECHAT_INBOUND)
class SubscribePopup(InboundBase):
    """A user answered a subscribe-message popup (or changed settings)."""

    event_name: Literal["subscribe_msg_popup_event", "subscribe_msg_change_event"]
    decisions: list[dict[str, str]]


@event("wechat.inbound.subscribe_sent", topic=WECHAT_INBOUND)
class SubscribeSent(InboundBase):
    """Delivery results of subscribe messages."""

    results: list[dict[str, str]]


@event("wechat.inbound.session_entered", topic=WECHAT_INBOUND)
class SessionEntered(InboundBase):
    """user_enter_tempsession: the user opened customer service."""

    session_from: str | None = None


@event("wechat.inbound.unknown", topic=WECHAT_INBOUND)
class UnknownPush(InboundBase):
    """Any other push; the raw body is kept so nothing is dropped."""

    msg_type: str | None = None
    event_name: str | None = None
    raw: str


@event("wechat.inbound.payment_succeeded", topic=WECHAT_INBOUND)
class PaymentSucceeded(EventData):
    """A verified, decrypted TRANSACTION.SUCCESS pay notification."""

    notification_id: str
    out_trade_no: str
    transaction_id: str
    trade_state: str
    payer_openid: str
    amount_total: int
    payer_total: int | None = None
    success_time: str | None = None


@event("wechat.inbound.refund_updated", topic=WECHAT_INBOUND)
class RefundUpdated(EventData):
    """A verified refund notification (REFUND.SUCCESS / ABNORMAL / CLOSED)."""

    notification_id: str
    out_trade_no: str
    out_refund_no: str
    refund_id: str
    refund_status: str
    amount_refund: int
    amount_total: int


@event("app.activity.recorded", topic=APP_ACTIVITY)
class ActivityRecorded(EventData):
    """Mini-program telemetry: a page view or an action with its duration.

    ``kind`` is ``page.viewed``, ``quiz.answered``, ``content.shared`` or
    ``custom.<name>``; ``at`` is when it happened on the device (validated at the
    gateway: at most 24 h old, 5 min ahead); ``client_event_id`` is the id the
    mini-program gave the item, the dedupe key of a retried batch.
    """

    member_no: int
    kind: str
    at: datetime | None = None
    page: str | None = None
    duration_ms: int | None = None
    props: dict[str, Any] = Field(default_factory=dict)
    client_event_id: str | None = None
