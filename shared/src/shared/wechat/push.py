"""Push bodies in either data format, normalised to one shape."""

from __future__ import annotations

import json
from typing import Any, Literal

from shared.wechat.errors import MalformedPush
from shared.wechat.xml import MAX_XML_BYTES, parse_xml

PushFormat = Literal["xml", "json"]

# XML subscribe events wrap their <List> items in one of these elements.
_LIST_WRAPPERS = ("SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent")


def parse_json_push(body: bytes, max_bytes: int = MAX_XML_BYTES) -> dict[str, Any]:
    """Parse a mini-program push sent in JSON format."""
    if len(body) > max_bytes:
        raise MalformedPush("JSON body too large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPush("unacceptable JSON") from exc
    if not isinstance(data, dict):
        raise MalformedPush("JSON push must be an object")
    return data


def parse_push(body: bytes, data_format: PushFormat = "xml") -> dict[str, Any]:
    """Parse a push body in the app's configured data format."""
    return parse_json_push(body) if data_format == "json" else parse_xml(body)


def sniff_format(body: bytes) -> PushFormat:
    """Guess the data format of a push body from its first character."""
    return "json" if body.lstrip()[:1] == b"{" else "xml"


def _as_items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    raise MalformedPush("List must be an object or an array of objects")


def event_items(message: dict[str, Any]) -> list[dict[str, str]]:
    """The items of a subscribe event, whatever the format.

    JSON carries a top-level ``List`` that is an object for one item and an
    array for several; XML carries one ``<List>`` per item, wrapped in
    ``<SubscribeMsg…Event>``. Values are returned as strings in both cases.
    """
    raw: list[dict[str, Any]] = []
    if "List" in message:
        raw.extend(_as_items(message["List"]))
    for wrapper in _LIST_WRAPPERS:
        if wrapper in message:
            for group in _as_items(message[wrapper]):
                if "List" in group:
                    raw.extend(_as_items(group["List"]))
    return [{key: _text(value) for key, value in item.items()} for item in raw]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise MalformedPush("List items must hold plain values")
