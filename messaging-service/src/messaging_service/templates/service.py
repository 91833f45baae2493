"""Syncing the registry from WeChat's template lists; a template gone upstream is marked, not deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.templates import repository
from messaging_service.templates.models import Template
from messaging_service.templates.parsing import parse_fields
from messaging_service.templates.schemas import SyncResult
from messaging_service.wechat import MessagingApi, TokenSource
from shared.errors import UpstreamError
from shared.wechat.errors import WeChatError, WeChatUnavailable


async def fetch_upstream(api: MessagingApi, tokens: TokenSource, *, app: str, appid: str) -> list[dict[str, Any]]:
    """The app's templates as WeChat lists them, normalised to ``{template_id, title, content, example, kind}``."""
    call = api.subscribe_templates if app == "mp" else api.oa_templates
    token = await tokens.current(appid)
    try:
        try:
            answer = await call(token)
        except WeChatError as exc:
            if not exc.needs_new_token:
                raise
            answer = await call(await tokens.invalidate(appid, token))
    except (WeChatError, WeChatUnavailable) as exc:
        raise UpstreamError("微信模板列表获取失败，请稍后重试。", slug="wechat-templates-failed") from exc
    if app == "mp":
        return [
            {
                "template_id": str(item.get("priTmplId", "")),
                "title": str(item.get("title", "")),
                "content": str(item.get("content", "")),
                "example": str(item.get("example", "")),
                "kind": "long_term" if int(item.get("type") or 2) == 3 else "one_time",
            }
            for item in answer.get("data") or []
            if item.get("priTmplId")
        ]
    return [
        {
            "template_id": str(item.get("template_id", "")),
            "title": str(item.get("title", "")),
            "content": str(item.get("content", "")),
            "example": str(item.get("example", "")),
            "kind": "template",
        }
        for item in answer.get("template_list") or []
        if item.get("template_id")
    ]


async def apply_sync(session: AsyncSession, *, app: str, upstream: list[dict[str, Any]], now: datetime) -> SyncResult:
    """Upsert what WeChat lists; mark the rest removed (sends never use a removed template)."""
    existing = {t.template_id: t for t in await repository.list_templates(session, app=app)}
    added = updated = removed = 0
    seen: set[str] = set()
    for item in upstream:
        seen.add(item["template_id"])
        fields = parse_fields(item["content"])
        row = existing.get(item["template_id"])
        if row is None:
            session.add(Template(app=app, fields=fields, synced_at=now, **item))
            added += 1
            continue
        changed = (row.title, row.content, row.kind, row.removed_at) != (
            item["title"], item["content"], item["kind"], None
        )
        row.title, row.content, row.example, row.kind = item["title"], item["content"], item["example"], item["kind"]
        row.fields, row.synced_at, row.removed_at = fields, now, None
        updated += int(changed)
    for template_id, row in existing.items():
        if template_id not in seen and row.removed_at is None:
            row.removed_at = now
            removed += 1
    await session.flush()
    return SyncResult(app=app, added=added, updated=updated, removed=removed, total=len(seen))
