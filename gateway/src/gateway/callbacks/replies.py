"""Passive replies: keyword rules owned by messaging-service, cached here.

The gateway must answer a push within WeChat's 5-second deadline, so it never
asks messaging-service on the request path: a background task refreshes the
enabled rules every few seconds. Without rules (or without messaging) the
answer is ``success``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog

from shared.runtime import ServiceRuntime

log = structlog.get_logger("gateway.replies")

REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class ReplyRule:
    """Keyword → text reply."""

    keyword: str
    match: str  # "exact" or "contains"
    reply: str
    app: str  # "oa", "mp" or "all"


class ReplyRules:
    """The current rule set, replaced atomically on each refresh."""

    def __init__(self) -> None:
        self.rules: tuple[ReplyRule, ...] = ()

    def reply_for(self, app: str, content: str | None) -> str | None:
        """The reply text for a user's message, if a rule matches (exact rules first)."""
        if not content:
            return None
        text = content.strip()
        for rule in self.rules:
            if rule.app in (app, "all") and rule.match == "exact" and text == rule.keyword:
                return rule.reply
        for rule in self.rules:
            if rule.app in (app, "all") and rule.match == "contains" and rule.keyword in text:
                return rule.reply
        return None


async def refresh_rules(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Background job: keep ``runtime.extras['reply_rules']`` current."""
    rules: ReplyRules = runtime.extras["reply_rules"]
    client = runtime.client_for("messaging")
    while not stop.is_set():
        try:
            body = await client.get_json("/internal/auto-replies")
            rules.rules = tuple(
                ReplyRule(keyword=r["keyword"], match=r["match"], reply=r["reply"], app=r["app"])
                for r in body["items"]
            )
        except Exception as exc:  # messaging down: keep the last rules
            log.debug("reply_rules_refresh_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=REFRESH_SECONDS)
