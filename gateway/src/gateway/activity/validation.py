"""Checking one batch: the envelope as a whole, then each item on its own.

An item is either :class:`Validated` (to be recorded) or a
:class:`RejectedItem` naming its index and why; nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from gateway.activity.schemas import (
    CUSTOM_NAME_PATTERN,
    MAX_AGE_SECONDS,
    MAX_AHEAD_SECONDS,
    MAX_CUSTOM_NAME_CHARS,
    MAX_ITEMS,
    MAX_PROPS_BYTES,
    MAX_PROPS_KEYS,
    ItemBase,
    PageViewed,
    QuizProps,
    RejectedItem,
    SharedProps,
    Validated,
)
from shared.errors import BadRequest, Invalid

_CUSTOM_NAME = re.compile(CUSTOM_NAME_PATTERN)
_ITEM_MODELS: dict[str, type[ItemBase]] = {
    "page.viewed": PageViewed, "quiz.answered": ItemBase, "content.shared": ItemBase,
}
_PROPS_MODELS: dict[str, type[BaseModel]] = {"quiz.answered": QuizProps, "content.shared": SharedProps}


def parse_batch(body: bytes) -> list[Any]:
    """The ``events`` list of a body, or a 400/422 problem for the batch as a whole."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses a lone surrogate escape anywhere in the body; the
        # standard parser keeps it, so only the item holding it is rejected.
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(
                "请求内容不是有效的 JSON。", slug="malformed-json", title="Malformed JSON body"
            ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise Invalid(
            "请求格式不正确：需要 events 数组。", slug="validation-error",
            errors=[{"field": "body.events", "message": "events must be an array of objects", "code": "list_type"}],
        )
    unknown = sorted(set(document) - {"events"})
    if unknown:
        raise Invalid(
            "请求包含未知字段。", slug="validation-error",
            errors=[{"field": f"body.{name}", "message": "Extra inputs are not permitted", "code": "extra_forbidden"}
                    for name in unknown[:10]],
        )
    events: list[Any] = document["events"]
    if not events or len(events) > MAX_ITEMS:
        raise Invalid(
            f"每次最多上报 {MAX_ITEMS} 条记录，且至少 1 条。", slug="too-many-items",
            title="Too many items",
            errors=[{"field": "body.events", "message": f"events must hold 1 to {MAX_ITEMS} items",
                     "code": "too_long" if events else "too_short"}],
        )
    return events


def _reject(index: int, reason: str, field: str | None, detail: str) -> RejectedItem:
    return RejectedItem(index=index, reason=reason, field=field, detail=detail)


def _from_validation_error(index: int, exc: ValidationError, prefix: str = "") -> RejectedItem:
    error = exc.errors(include_url=False, include_input=False)[0]
    # Items and props are flat: the first location is the field (deeper parts
    # are union member tags or nested keys inside props).
    field = prefix + str(error["loc"][0]) if error["loc"] else prefix.rstrip(".")
    code = error["type"]
    reason = {"missing": "missing-field", "extra_forbidden": "unknown-field"}.get(code, "invalid-field")
    return _reject(index, reason, field or None, f"{error['msg']} ({code})")


def check_item(index: int, raw: Any, now: datetime) -> Validated | RejectedItem:
    """One item against its kind's rules and the server clock ``now``."""
    if not isinstance(raw, dict):
        return _reject(index, "not-an-object", None, "Each item must be a JSON object")
    kind = raw.get("kind")
    if not isinstance(kind, str):
        return _reject(index, "missing-field" if kind is None else "invalid-field", "kind", "kind must be a string")
    model = _ITEM_MODELS.get(kind)
    if model is None:
        if not kind.startswith("custom."):
            return _reject(index, "unknown-kind", "kind", f"Unknown kind {kind[:80]!r}")
        name = kind[len("custom."):]
        if not (0 < len(name) <= MAX_CUSTOM_NAME_CHARS and _CUSTOM_NAME.match(name)):
            return _reject(
                index, "invalid-custom-name", "kind",
                f"custom.<name>: 1 to {MAX_CUSTOM_NAME_CHARS} of a-z 0-9 _ . - starting with a letter or digit",
            )
        model = ItemBase
    try:
        item = model.model_validate(raw)
    except ValidationError as exc:
        return _from_validation_error(index, exc)
    if item.at < now - timedelta(seconds=MAX_AGE_SECONDS):
        return _reject(index, "at-too-old", "at", "at is more than 24 hours in the past")
    if item.at > now + timedelta(seconds=MAX_AHEAD_SECONDS):
        return _reject(index, "at-in-future", "at", "at is more than 5 minutes ahead of the server clock")
    props = item.props or {}
    if props:
        if len(props) > MAX_PROPS_KEYS:
            return _reject(index, "props-too-large", "props", f"props may hold at most {MAX_PROPS_KEYS} keys")
        try:
            encoded = orjson.dumps(props)
        except orjson.JSONEncodeError:
            return _reject(index, "invalid-text", "props", "props must be valid Unicode (no unpaired surrogate)")
        if len(encoded) > MAX_PROPS_BYTES:
            return _reject(index, "props-too-large", "props", f"props may take at most {MAX_PROPS_BYTES} bytes")
        if b"\\u0000" in encoded:
            return _reject(index, "invalid-text", "props", "props must not contain the NUL character (U+0000)")
    props_model = _PROPS_MODELS.get(kind)
    if props_model is not None:
        try:
            props = props_model.model_validate(props).model_dump(exclude_none=True)
        except ValidationError as exc:
            return _from_validation_error(index, exc, "props.")
    return Validated(
        kind=kind, at=item.at, page=item.page, duration_ms=item.duration_ms, props=props, event_id=item.event_id
    )
