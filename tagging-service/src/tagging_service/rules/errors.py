"""Typed errors of rules."""

from __future__ import annotations

from shared.errors import NotFound


def rule_not_found() -> NotFound:
    """No live rule with that id."""
    return NotFound("规则不存在。", slug="tag-rule-not-found", title="Tag rule not found")


def backfill_not_found() -> NotFound:
    """The rule has never been back-filled."""
    return NotFound("该规则没有回溯任务。", slug="backfill-not-found", title="Back-fill not found")
