"""Tag groups, tags and member tags: apply, remove (into history), expire; every change is an event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.tagging import MemberTagged, MemberUntagged
from shared.events.outbox import emit
from tagging_service.facts.members import ensure_members
from tagging_service.facts.repository import mark_dirty
from tagging_service.tags import errors, repository
from tagging_service.tags.models import MemberTag, MemberTagHistory, Tag, TagGroup
from tagging_service.tags.schemas import (
    MemberTagHistoryRead,
    MemberTagRead,
    TagCreate,
    TagGroupCreate,
    TagRead,
    TagUpdate,
)
from tagging_service.timeline import repository as timeline

BULK_CHUNK = 1000


async def create_group(session: AsyncSession, body: TagGroupCreate) -> TagGroup:
    """A new tag group; a taken name is a conflict."""
    group = TagGroup(name=body.name, description=body.description)
    try:
        async with session.begin_nested():
            session.add(group)
            await session.flush()
    except IntegrityError as exc:
        raise errors.group_name_taken() from exc
    return group


async def require_tag(session: AsyncSession, tag_id: int) -> Tag:
    """A live tag, or 404."""
    tag = await repository.get_tag(session, tag_id)
    if tag is None:
        raise errors.tag_not_found()
    return tag


async def create_tag(session: AsyncSession, body: TagCreate) -> Tag:
    """A new tag in an existing group."""
    if await repository.get_group(session, body.group_id) is None:
        raise errors.group_not_found()
    tag = Tag(group_id=body.group_id, name=body.name, colour=body.colour, description=body.description,
              kind=body.kind)
    try:
        async with session.begin_nested():
            session.add(tag)
            await session.flush()
    except IntegrityError as exc:
        raise errors.name_taken() from exc
    return tag


async def update_tag(session: AsyncSession, tag: Tag, body: TagUpdate) -> Tag:
    """Apply a PATCH to a (non-system) tag."""
    if tag.kind == "system":
        raise errors.system_tag()
    changes = body.changes()
    if "group_id" in changes and await repository.get_group(session, changes["group_id"]) is None:
        raise errors.group_not_found()
    try:
        async with session.begin_nested():
            for name, value in changes.items():
                setattr(tag, name, value)
            await session.flush()
    except IntegrityError as exc:
        raise errors.name_taken() from exc
    return tag


async def delete_tag(session: AsyncSession, tag: Tag, *, staff_id: int, now: datetime) -> None:
    """Retire a tag: its member tags move to the history (with events), the tag is kept for it."""
    if tag.kind == "system":
        raise errors.system_tag()
    removed = await repository.remove_member_tags(
        session, tag_id=tag.id, member_nos=None, removed_at=now, removed_by="tag-deleted", removed_by_id=staff_id
    )
    await announce_removed(session, tag, removed, removed_by="tag-deleted", removed_by_id=staff_id, now=now)
    tag.deleted_at = now
    await session.flush()


async def apply(
    session: AsyncSession, *, tag: Tag, member_no: int, source: str, source_id: int | None, now: datetime,
    expires_at: datetime | None = None, reason: str | None = None, evidence: dict[str, Any] | None = None,
) -> tuple[MemberTag, bool]:
    """Attach ``tag`` (or refresh its expiry); a new application is logged, indexed and published."""
    await ensure_members(session, [member_no])
    row, created = await repository.upsert_member_tag(
        session,
        {"member_no": member_no, "tag_id": tag.id, "source": source, "source_id": source_id,
         "evidence": evidence or {}, "reason": reason, "applied_at": now, "expires_at": expires_at},
    )
    if created:
        await announce_applied(session, tag, [row], now=now)
    return row, created


async def apply_many(
    session: AsyncSession, *, tag: Tag, member_nos: Sequence[int], source: str, source_id: int | None,
    now: datetime, expires_at: datetime | None = None, reason: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> int:
    """Attach ``tag`` to many members (existing applications stay as they are); returns how many are new."""
    unique = sorted(set(member_nos))
    applied = 0
    for start in range(0, len(unique), BULK_CHUNK):
        chunk = unique[start:start + BULK_CHUNK]
        await ensure_members(session, chunk)
        new = await repository.insert_tag_for_members(
            session, tag_id=tag.id, member_nos=chunk, source=source, source_id=source_id, evidence=evidence or {},
            reason=reason, applied_at=now, expires_at=expires_at,
        )
        applied += len(new)
        await announce_applied(session, tag, [
            MemberTag(member_no=m, tag_id=tag.id, source=source, source_id=source_id, evidence=evidence or {},
                      reason=reason, applied_at=now, expires_at=expires_at)
            for m in sorted(new)
        ], now=now)
    return applied


async def remove(
    session: AsyncSession, *, tag: Tag, member_nos: Sequence[int], removed_by: str, removed_by_id: int | None,
    now: datetime,
) -> list[MemberTag]:
    """Take ``tag`` off members (into the history); returns what was removed."""
    removed = await repository.remove_member_tags(
        session, tag_id=tag.id, member_nos=member_nos, removed_at=now, removed_by=removed_by,
        removed_by_id=removed_by_id,
    )
    await announce_removed(session, tag, removed, removed_by=removed_by, removed_by_id=removed_by_id, now=now)
    return removed


async def expire(session: AsyncSession, *, now: datetime, limit: int = 1000) -> int:
    """Remove member tags past their expiry; returns how many."""
    due = await repository.expired(session, now, limit)
    by_tag: dict[int, list[int]] = {}
    for tag_id, member_no in due:
        by_tag.setdefault(tag_id, []).append(member_no)
    tags = await repository.tags_by_ids(session, list(by_tag))
    count = 0
    for tag_id, members in by_tag.items():
        tag = tags.get(tag_id)
        if tag is not None:
            count += len(await remove(session, tag=tag, member_nos=members, removed_by="expiry",
                                      removed_by_id=None, now=now))
    return count


async def announce_applied(session: AsyncSession, tag: Tag, rows: Sequence[MemberTag], *, now: datetime) -> None:
    """Index, log and publish new member tags (rules look at these members again: conditions may name tags)."""
    await repository.record_changes(session, "tag", tag.id, [r.member_no for r in rows], True)
    await mark_dirty(session, [r.member_no for r in rows])
    await timeline.add_many(session, [
        {"member_no": row.member_no, "at": now, "kind": "tag.applied",
         "data": {"tag_id": tag.id, "tag": tag.name, "source": row.source, "source_id": row.source_id,
                  "reason": row.reason}}
        for row in rows
    ])
    for row in rows:
        evidence = row.evidence.get("events", []) if isinstance(row.evidence, dict) else []
        await emit(
            session,
            MemberTagged(
                member_no=row.member_no, tag=tag.name, tag_id=tag.id, source=row.source, source_id=row.source_id,
                applied_at=row.applied_at, expires_at=row.expires_at, evidence=[str(e) for e in evidence],
            ),
            member_no=row.member_no,
        )


async def announce_removed(
    session: AsyncSession, tag: Tag, removed: Sequence[MemberTag], *, removed_by: str, removed_by_id: int | None,
    now: datetime,
) -> None:
    """Index, log and publish removed member tags."""
    await repository.record_changes(session, "tag", tag.id, [r.member_no for r in removed], False)
    await mark_dirty(session, [r.member_no for r in removed])
    await timeline.add_many(session, [
        {"member_no": row.member_no, "at": now, "kind": "tag.removed",
         "data": {"tag_id": tag.id, "tag": tag.name, "removed_by": removed_by, "removed_by_id": removed_by_id}}
        for row in removed
    ])
    for row in removed:
        await emit(
            session,
            MemberUntagged(member_no=row.member_no, tag_id=tag.id, tag=tag.name, removed_by=removed_by,
                           removed_by_id=removed_by_id),
            member_no=row.member_no,
        )


def tag_read(tag: Tag, members: int) -> TagRead:
    """The API shape of a tag."""
    return TagRead(id=tag.id, group_id=tag.group_id, name=tag.name, colour=tag.colour, description=tag.description,
                   kind=tag.kind, members=members, created_at=tag.created_at)


def member_tag_read(row: MemberTag, tag: Tag) -> MemberTagRead:
    """The API shape of a member tag."""
    return MemberTagRead(
        member_no=row.member_no, tag_id=tag.id, tag=tag.name, group_id=tag.group_id, kind=tag.kind,
        source=row.source, source_id=row.source_id, evidence=row.evidence or {}, reason=row.reason,
        applied_at=row.applied_at, expires_at=row.expires_at,
    )


def history_read(row: MemberTagHistory, tag: Tag) -> MemberTagHistoryRead:
    """The API shape of a removed member tag."""
    return MemberTagHistoryRead(
        member_no=row.member_no, tag_id=tag.id, tag=tag.name, group_id=tag.group_id, kind=tag.kind,
        source=row.source, source_id=row.source_id, evidence=row.evidence or {}, reason=row.reason,
        applied_at=row.applied_at, expires_at=row.expires_at, removed_at=row.removed_at,
        removed_by=row.removed_by, removed_by_id=row.removed_by_id,
    )


async def merge_members(session: AsyncSession, *, from_member_no: int, into_member_no: int, now: datetime) -> None:
    """Move a merged member's tags to the survivor (the survivor's own application wins)."""
    await ensure_members(session, [into_member_no])
    current = await repository.member_tags(session, from_member_no)
    for row, tag in current:
        values = {"member_no": into_member_no, "tag_id": tag.id, "source": row.source, "source_id": row.source_id,
                  "evidence": {**(row.evidence or {}), "merged_from": from_member_no}, "reason": row.reason,
                  "applied_at": row.applied_at, "expires_at": row.expires_at}
        new = await repository.insert_new_member_tags(session, [values])
        if new:
            await announce_applied(session, tag, [MemberTag(**values)], now=now)
        await remove(session, tag=tag, member_nos=[from_member_no], removed_by="merge",
                     removed_by_id=into_member_no, now=now)
