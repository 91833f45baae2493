"""Turning a decoded push into one typed ``wechat.inbound`` event and its dedupe key.

Nothing is dropped: a push of a kind we do not model becomes
``wechat.inbound.unknown`` with its raw body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.contracts import EventData
from shared.contracts.gateway import (
    AppKind,
    LocationReported,
    MenuClicked,
    MessageReceived,
    Scanned,
    SessionEntered,
    Subscribed,
    SubscribePopup,
    SubscribeSent,
    TemplateSendFinished,
    UnknownPush,
    Unsubscribed,
)
from shared.errors import BadRequest
from shared.wechat.errors import MalformedPush
from shared.wechat.push import event_items

MESSAGE_TYPES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link",
                           "miniprogrampage", "file"})


@dataclass(frozen=True)
class NormalizedPush:
    """A push as one event, with what dedupe and replies need."""

    event: EventData
    openid: str
    dedupe_key: str
    kind: str


def _text(message: dict[str, Any], name: str) -> str | None:
    value = message.get(name)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _required(message: dict[str, Any], name: str) -> str:
    value = _text(message, name)
    if not value:
        raise BadRequest(f"推送缺少字段 {name}。", slug="malformed-push", title="Malformed push")
    return value


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def dedupe_key(app: AppKind, appid: str, message: dict[str, Any]) -> str:
    """Messages dedupe by MsgId; events by sender, time, event and key (wechat.md)."""
    msg_id = _text(message, "MsgId") or _text(message, "MsgID")
    msg_type = _text(message, "MsgType") or ""
    if msg_id and msg_type != "event":
        return f"{app}:{appid}:msg:{msg_id}"
    parts = [_text(message, n) or "" for n in ("FromUserName", "CreateTime", "Event", "EventKey")]
    if msg_type == "event" and msg_id:
        parts.append(msg_id)  # e.g. TEMPLATESENDJOBFINISH: one per sent message
    return f"{app}:{appid}:evt:" + "|".join(parts)


def normalize(app: AppKind, appid: str, message: dict[str, Any], raw: str) -> NormalizedPush:
    """Map a decoded push to its ``wechat.inbound`` contract."""
    openid = _required(message, "FromUserName")
    create_time_text = _required(message, "CreateTime")
    if not create_time_text.isdigit():
        raise BadRequest("CreateTime 不是时间戳。", slug="malformed-push", title="Malformed push")
    base = {
        "app": app,
        "appid": appid,
        "openid": openid,
        "to_user": _text(message, "ToUserName") or "",
        "create_time": datetime.fromtimestamp(int(create_time_text), UTC),
    }
    msg_type = (_text(message, "MsgType") or "").strip()
    event_name = (_text(message, "Event") or "").strip()
    event = _build(msg_type, event_name, message, base, raw)
    kind = event_name or msg_type or "unknown"
    return NormalizedPush(event=event, openid=openid, dedupe_key=dedupe_key(app, appid, message), kind=kind)


def _build(msg_type: str, event_name: str, message: dict[str, Any], base: dict[str, Any], raw: str) -> EventData:
    key = _text(message, "EventKey") or ""
    if msg_type in MESSAGE_TYPES:
        fields = {k: v for k, v in message.items() if isinstance(v, str)}
        return MessageReceived(**base, msg_type=msg_type, msg_id=_text(message, "MsgId"),
                               content=_text(message, "Content"), fields=fields)
    if msg_type != "event":
        return UnknownPush(**base, msg_type=msg_type or None, raw=raw)
    lowered = event_name.lower()
    if lowered == "subscribe":
        scene = key[len("qrscene_"):] if key.startswith("qrscene_") else None
        return Subscribed(**base, scene=scene or None, ticket=_text(message, "Ticket"))
    if lowered == "unsubscribe":
        return Unsubscribed(**base)
    if lowered == "scan":
        return Scanned(**base, scene=key, ticket=_text(message, "Ticket"))
    if lowered in ("click", "view"):
        return MenuClicked(**base, kind=event_name.upper(), key=key)
    if lowered == "location":
        latitude, longitude = _float(_text(message, "Latitude")), _float(_text(message, "Longitude"))
        if latitude is None or longitude is None:
            return UnknownPush(**base, msg_type=msg_type, event_name=event_name, raw=raw)
        return LocationReported(**base, latitude=latitude, longitude=longitude,
                                precision=_float(_text(message, "Precision")))
    if lowered == "templatesendjobfinish":
        return TemplateSendFinished(**base, msg_id=_text(message, "MsgID") or _text(message, "MsgId") or "",
                                    status=_text(message, "Status") or "")
    if lowered in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
        items = _items(message)
        decisions = [{"template_id": i.get("TemplateId", ""), "status": i.get("SubscribeStatusString", ""),
                      "popup_scene": i.get("PopupScene", "")} for i in items]
        return SubscribePopup(**base, event_name=lowered, decisions=decisions)
    if lowered == "subscribe_msg_sent_event":
        results = [{"template_id": i.get("TemplateId", ""), "msg_id": i.get("MsgID", ""),
                    "error_code": i.get("ErrorCode", ""), "error_status": i.get("ErrorStatus", "")}
                   for i in _items(message)]
        return SubscribeSent(**base, results=results)
    if lowered == "user_enter_tempsession":
        return SessionEntered(**base, session_from=_text(message, "SessionFrom"))
    return UnknownPush(**base, msg_type=msg_type, event_name=event_name, raw=raw)


def _items(message: dict[str, Any]) -> list[dict[str, str]]:
    try:
        return event_items(message)
    except MalformedPush as exc:
        raise BadRequest("订阅消息事件的 List 格式无效。", slug="malformed-push", title="Malformed push") from exc
