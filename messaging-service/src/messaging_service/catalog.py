"""A short-lived in-process cache of purposes and templates, read on every send.

Both change rarely (staff edits, a template sync) and are read several times
per send; a write in this process clears the cache at once, other processes
see it within ``TTL`` seconds. Entries are plain snapshots, never ORM objects
shared between sessions. Keyed by database, so apps on different databases
in one process (tests) never see each other's entries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.purposes.models import Purpose
from messaging_service.templates.models import Template

TTL = 2.0


@dataclass(frozen=True, slots=True)
class PurposeSnapshot:
    """What sending reads of a purpose."""

    id: int
    name: str
    message_class: str
    channels: list[dict[str, Any]]
    daily_cap: int | None
    max_staleness_minutes: int | None
    enabled: bool


@dataclass(frozen=True, slots=True)
class TemplateSnapshot:
    """What sending reads of a template."""

    app: str
    template_id: str
    kind: str
    fields: list[dict[str, Any]]
    removed: bool

    @property
    def removed_at(self) -> bool | None:
        """Truthy when removed upstream (same test as on the model)."""
        return True if self.removed else None


_entries: dict[tuple[Any, ...], tuple[float, Any]] = {}


def _db(session: AsyncSession) -> str:
    bind = session.bind  # an AsyncEngine or an AsyncConnection: both have the sync engine and its URL
    return str(bind.sync_engine.url.database) if bind is not None else ""


def clear(session: AsyncSession) -> None:
    """Forget every entry of this session's database (after a write)."""
    db = _db(session)
    for key in [k for k in _entries if k[0] == db]:
        _entries.pop(key, None)


def _fresh(key: tuple[Any, ...]) -> tuple[bool, Any]:
    found = _entries.get(key)
    if found is not None and found[0] > time.monotonic():
        return True, found[1]
    return False, None


def peek_purpose(db: str, name: str) -> tuple[bool, PurposeSnapshot | None]:
    """(hit, snapshot) from the cache of database ``db`` alone: no session, no query (the send hot path)."""
    return _fresh((db, "purpose", name))


def peek_template(db: str, app: str, template_id: str) -> tuple[bool, TemplateSnapshot | None]:
    """(hit, snapshot) of a template from the cache alone."""
    return _fresh((db, "template", app, template_id))


async def purpose(session: AsyncSession, name: str) -> PurposeSnapshot | None:
    """The purpose called ``name``, or None."""
    key = (_db(session), "purpose", name)
    hit, value = _fresh(key)
    if hit:
        return value
    row = await session.scalar(select(Purpose).where(Purpose.name == name))
    snapshot = None if row is None else PurposeSnapshot(
        id=row.id, name=row.name, message_class=row.message_class, channels=list(row.channels),
        daily_cap=row.daily_cap, max_staleness_minutes=row.max_staleness_minutes, enabled=row.enabled)
    _entries[key] = (time.monotonic() + TTL, snapshot)
    return snapshot


async def template(session: AsyncSession, app: str, template_id: str) -> TemplateSnapshot | None:
    """A template of an app, or None."""
    key = (_db(session), "template", app, template_id)
    hit, value = _fresh(key)
    if hit:
        return value
    row = await session.scalar(select(Template).where(Template.app == app, Template.template_id == template_id))
    snapshot = None if row is None else TemplateSnapshot(
        app=row.app, template_id=row.template_id, kind=row.kind, fields=list(row.fields),
        removed=row.removed_at is not None)
    _entries[key] = (time.monotonic() + TTL, snapshot)
    return snapshot
