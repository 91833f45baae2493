"""The push messages WeChat sends for each user action, field for field."""

from __future__ import annotations

from typing import Any

from wechat_simulator.config import PushFormat, SimulatorSettings
from wechat_simulator.state import App, Person, SimState

# XML subscribe events wrap their <List> items; JSON puts List at the top level.
_LIST_WRAPPERS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


def _head(
    settings: SimulatorSettings, state: SimState, person: Person, app: App, msg_type: str
) -> dict[str, Any]:
    return {
        "ToUserName": settings.oa_original_id if app == "oa" else settings.mp_original_id,
        "FromUserName": person.oa_openid if app == "oa" else person.mp_openid,
        "CreateTime": state.create_time(person),
        "MsgType": msg_type,
    }


def event(
    settings: SimulatorSettings, state: SimState, person: Person, app: App, name: str, **fields: Any
) -> dict[str, Any]:
    """An event push (subscribe, SCAN, CLICK, user_enter_tempsession …)."""
    return {**_head(settings, state, person, app, "event"), "Event": name, **fields}


def text(
    settings: SimulatorSettings, state: SimState, person: Person, app: App, content: str
) -> dict[str, Any]:
    """A text message from the user."""
    return {**_head(settings, state, person, app, "text"), "Content": content, "MsgId": state.next_msgid()}


def list_event(
    settings: SimulatorSettings,
    state: SimState,
    person: Person,
    name: str,
    items: list[dict[str, Any]],
    fmt: PushFormat,
) -> dict[str, Any]:
    """A mini-program subscribe event carrying a list of template items."""
    message = event(settings, state, person, "mp", name)
    if fmt == "json":
        # One item is an object, several an array: the quirk receivers must normalise.
        json_items = [{key: str(value) for key, value in item.items()} for item in items]
        message["List"] = json_items[0] if len(json_items) == 1 else json_items
    else:
        message[_LIST_WRAPPERS[name]] = {"List": items}
    return message
