"""Purposes: checking their channels against the registry, rendering a send's data into each channel."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service import catalog
from messaging_service.catalog import PurposeSnapshot, TemplateSnapshot
from messaging_service.purposes.models import Purpose
from messaging_service.purposes.rules import check_value
from messaging_service.purposes.schemas import ChannelConfig
from messaging_service.templates import repository as templates
from shared.errors import Invalid, NotFound

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
APP_OF = {"subscribe": "mp", "template": "oa", "custom": "oa"}


async def get_by_name(session: AsyncSession, name: str) -> PurposeSnapshot:
    """The purpose called ``name`` (cached briefly); unknown is a 422 (it is a field of the send)."""
    purpose = await catalog.purpose(session, name)
    if purpose is None:
        raise Invalid(
            f"消息用途 {name} 不存在。", slug="unknown-purpose",
            errors=[{"field": "purpose", "message": "unknown purpose", "code": "unknown_purpose"}],
        )
    return purpose


async def get(session: AsyncSession, purpose_id: int) -> Purpose:
    """A purpose by id."""
    purpose = await session.get(Purpose, purpose_id)
    if purpose is None:
        raise NotFound("消息用途不存在。", slug="purpose-not-found")
    return purpose


async def check_channels(session: AsyncSession, channels: list[ChannelConfig]) -> None:
    """Every channel names a live template of the right app and maps each of its fields."""
    errors: list[dict[str, Any]] = []
    kinds = [c.channel for c in channels]
    if len(set(kinds)) != len(kinds):
        errors.append({"field": "channels", "message": "each channel at most once", "code": "duplicate_channel"})
    for i, config in enumerate(channels):
        where = f"channels.{i}"
        if config.channel == "custom":
            if not config.text:
                errors.append({"field": f"{where}.text", "message": "required", "code": "missing"})
            continue
        if not config.template_id:
            errors.append({"field": f"{where}.template_id", "message": "required", "code": "missing"})
            continue
        template = await templates.get_template(session, APP_OF[config.channel], config.template_id)
        if template is None or template.removed_at is not None:
            errors.append({"field": f"{where}.template_id", "message": "unknown or removed template",
                           "code": "unknown_template"})
            continue
        keys = {f["key"] for f in template.fields}
        for key in keys - set(config.fields):
            errors.append({"field": f"{where}.fields.{key}", "message": "not mapped", "code": "missing"})
        for key in set(config.fields) - keys:
            errors.append({"field": f"{where}.fields.{key}", "message": "not a field of the template",
                           "code": "unknown_field"})
    if errors:
        fields = "、".join(e["field"] for e in errors)
        raise Invalid(f"消息用途的渠道配置有误：{fields}。", slug="invalid-channels", errors=errors)


def _render(pattern: str, data: dict[str, Any], errors: list[dict[str, Any]], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in data:
            errors.append({"field": f"data.{name}", "message": f"missing (used by {where})", "code": "missing"})
            return ""
        item = data[name]
        if isinstance(item, float) and item.is_integer():
            return str(int(item))
        return str(item)

    return _PLACEHOLDER.sub(value, pattern)


def render_channel(
    config: dict[str, Any], template: TemplateSnapshot | None, data: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The WeChat ``data`` (or custom text) of one channel, and what does not fit the template's field types."""
    errors: list[dict[str, Any]] = []
    channel = config["channel"]
    if channel == "custom":
        text = _render(config.get("text") or "", data, errors, "custom.text")
        if not text.strip():
            errors.append({"field": "data", "message": "custom text is empty", "code": "empty"})
        return {"text": text}, errors
    assert template is not None
    types = {f["key"]: f["type"] for f in template.fields}
    rendered: dict[str, Any] = {}
    for key, pattern in (config.get("fields") or {}).items():
        names = _PLACEHOLDER.findall(pattern)
        value = _render(pattern, data, errors, f"{channel}.{key}")
        problem = check_value(types.get(key, key.rstrip("0123456789")), value, app=APP_OF[channel])
        if problem is not None and not any(e["code"] == "missing" for e in errors):
            named = ", ".join(f"data.{n}" for n in names) or f"{channel}.{key}"
            errors.append({"field": f"data.{names[0]}" if names else f"{channel}.{key}",
                           "message": f"{named} → {key} ({types.get(key, '?')}): {problem}", "code": "invalid_value"})
        rendered[key] = {"value": value}
    return rendered, errors


async def validate_data(session: AsyncSession, purpose: PurposeSnapshot, data: dict[str, Any]) -> None:
    """Check the data against every channel of the purpose: a mismatch is a 422 naming the field."""
    errors: list[dict[str, Any]] = []
    for config in purpose.channels:
        template = None
        if config["channel"] != "custom":
            template = await catalog.template(session, APP_OF[config["channel"]], config["template_id"])
            if template is None:
                continue
        errors += render_channel(config, template, data)[1]
    if errors:
        seen: set[str] = set()
        unique: list[dict[str, Any]] = []
        for e in errors:
            if e["field"] + e["message"] not in seen:
                seen.add(e["field"] + e["message"])
                unique.append(e)
        fields = "、".join(dict.fromkeys(e["field"] for e in unique))
        raise Invalid(f"消息数据不符合模板要求：{fields}。", slug="invalid-message-data", errors=unique)
