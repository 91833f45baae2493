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
    MAX_DURATION_MS,
    MAX_EVENT_ID_CHARS,
    MAX_ITEMS,
    MAX_PAGE_CHARS,
    MAX_PROPS_BYTES,
    MAX_PROPS_KEYS,
    MAX_QUIZ_REF_CHARS,
    MAX_SHARE_TICKET_CHARS,
    ItemBase,
    PageViewed,
    QuizProps,
    RejectedItem,
    SharedProps,
    Validated,
)
from shared.errors import BadRequest, Invalid
from shared.fields import BIGINT_MAX

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


_ITEM_KEYS = frozenset({"kind", "at", "page", "duration_ms", "props", "event_id"})
_SHARE_TARGETS = frozenset({"group", "friend", "moments"})


def _clean(value: Any, max_chars: int) -> bool:
    """A str of 1..max_chars characters, no NUL, encodable as UTF-8 (the ``Text`` rules)."""
    if type(value) is not str or not 0 < len(value) <= max_chars or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bounded_id(value: Any) -> bool:
    return type(value) is int and 1 <= value <= BIGINT_MAX


def _fast_check(raw: Any, oldest: datetime, latest: datetime) -> Validated | None:
    """The common well-formed item, checked by hand; None sends it to the full (pydantic) check.

    Accepts a subset of what the full check accepts, with the same result, so
    the full check alone decides every rejection and its reason.
    """
    if type(raw) is not dict or not _ITEM_KEYS.issuperset(raw):
        return None
    kind = raw.get("kind")
    # Type first: a list or dict kind is unhashable, and membership in a dict would raise.
    if type(kind) is not str or (
        kind not in _ITEM_MODELS and not (kind.startswith("custom.") and _custom_name_ok(kind))
    ):
        return None
    at_text = raw.get("at")
    # RFC 3339 shapes only (fromisoformat also takes forms the full check refuses).
    if (
        type(at_text) is not str or not 20 <= len(at_text) <= 40
        or at_text[4] != "-" or at_text[7] != "-" or at_text[10] not in "Tt "
    ):
        return None
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        return None
    if at.tzinfo is None or not oldest <= at <= latest:
        return None
    page = raw.get("page")
    if page is not None and not _clean(page, MAX_PAGE_CHARS):
        return None
    if page is None and kind == "page.viewed":
        return None
    duration = raw.get("duration_ms")
    if duration is not None and not (type(duration) is int and 0 <= duration <= MAX_DURATION_MS):
        return None
    event_id = raw.get("event_id")
    if event_id is not None and not _clean(event_id, MAX_EVENT_ID_CHARS):
        return None
    props = raw.get("props")
    if props is None:
        props = {}
    elif type(props) is not dict or len(props) > MAX_PROPS_KEYS:
        return None
    if kind in _PROPS_MODELS and None in props.values():
        return None  # the full check drops null props of these kinds
    if kind == "quiz.answered":
        if not _quiz_props_ok(props):
            return None
    elif kind == "content.shared":
        share_ticket = props.get("share_ticket")
        if props.get("target") not in _SHARE_TARGETS or (
            share_ticket is not None and not _clean(share_ticket, MAX_SHARE_TICKET_CHARS)
        ):
            return None
    if props:
        try:
            encoded = orjson.dumps(props)
        except orjson.JSONEncodeError:
            return None
        if len(encoded) > MAX_PROPS_BYTES or b"\\u0000" in encoded:
            return None
    return Validated(kind=kind, at=at, page=page, duration_ms=duration, props=props, event_id=event_id)


def _quiz_props_ok(props: dict[str, Any]) -> bool:
    for name in ("quiz_id", "question_id"):
        value = props.get(name)
        if not (_bounded_id(value) or _clean(value, MAX_QUIZ_REF_CHARS)):
            return False
    if type(props.get("correct")) is not bool:
        return False
    # The full check drops optional ids given as null; leave those to it.
    return all(_bounded_id(props[name]) for name in ("series_id", "period_id") if name in props)


def check_item(index: int, raw: Any, now: datetime) -> Validated | RejectedItem:
    """One item against its kind's rules and the server clock ``now``."""
    fast = _fast_check(raw, now - timedelta(seconds=MAX_AGE_SECONDS), now + timedelta(seconds=MAX_AHEAD_SECONDS))
    return fast if fast is not None else _full_check(index, raw, now)


def _custom_name_ok(kind: str) -> bool:
    name = kind[len("custom."):]
    return 0 < len(name) <= MAX_CUSTOM_NAME_CHARS and _CUSTOM_NAME.match(name) is not None


def _full_check(index: int, raw: Any, now: datetime) -> Validated | RejectedItem:
    if not isinstance(raw, dict):
        return _reject(index, "not-an-object", None, "Each item must be a JSON object")
    kind = raw.get("kind")
    if not isinstance(kind, str):
        return _reject(index, "missing-field" if kind is None else "invalid-field", "kind", "kind must be a string")
    model = _ITEM_MODELS.get(kind)
    if model is None:
        if not kind.startswith("custom."):
            return _reject(index, "unknown-kind", "kind", f"Unknown kind {kind[:80]!r}")
        if not _custom_name_ok(kind):
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
