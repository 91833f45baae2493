"""SQL of rules, back-fills and the members whose facts changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.rules.models import DirtyMember, RuleBackfill, TagRule


async def get(session: AsyncSession, rule_id: int) -> TagRule | None:
    """A live rule."""
    rule = await session.get(TagRule, rule_id)
    return rule if rule is not None and rule.deleted_at is None else None


async def page(session: AsyncSession, *, after_id: int | None, limit: int) -> list[TagRule]:
    """Live rules by id."""
    stmt = select(TagRule).where(TagRule.deleted_at.is_(None)).order_by(TagRule.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(TagRule.id > after_id)
    return list(await session.scalars(stmt))


async def enabled(session: AsyncSession) -> list[TagRule]:
    """Every enabled live rule."""
    return list(await session.scalars(
        select(TagRule).where(TagRule.deleted_at.is_(None), TagRule.enabled.is_(True)).order_by(TagRule.id)
    ))


async def schedule_backfill(session: AsyncSession, rule: TagRule) -> None:
    """(Re)start the back-fill of a rule's current version."""
    values = {"rule_id": rule.id, "rule_version": rule.version, "state": "pending", "done": 0, "total": 0,
              "changed": 0, "error": None, "started_at": None, "finished_at": None}
    await session.execute(
        insert(RuleBackfill).values(**values)
        .on_conflict_do_update(index_elements=["rule_id"], set_={k: v for k, v in values.items() if k != "rule_id"})
    )


async def backfill(session: AsyncSession, rule_id: int) -> RuleBackfill | None:
    """A rule's back-fill row."""
    return await session.get(RuleBackfill, rule_id, populate_existing=True)


async def claim_pending_backfill(session: AsyncSession, now: datetime) -> RuleBackfill | None:
    """The oldest pending back-fill, marked running (skipping rows another worker holds)."""
    row = await session.scalar(
        select(RuleBackfill).where(RuleBackfill.state == "pending").order_by(RuleBackfill.rule_id)
        .limit(1).with_for_update(skip_locked=True)
    )
    if row is not None:
        row.state, row.started_at = "running", now
        await session.flush()
    return row


async def take_dirty(session: AsyncSession, limit: int) -> list[int]:
    """Members of the oldest ``limit`` marks, the marks removed from the queue (the caller's transaction
    holds them).

    Only committed marks are seen, so the change behind each is committed too; a member
    marked again meanwhile keeps the newer mark for a later pass (judged again, which
    changes nothing when nothing changed).
    """
    rows = await session.execute(
        text("""DELETE FROM rule_dirty_members WHERE id IN (
                  SELECT id FROM rule_dirty_members ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
                RETURNING member_no"""),
        {"n": limit},
    )
    return sorted({r[0] for r in rows})


async def clear_dirty(session: AsyncSession) -> None:
    """Forget the queue (a full back-fill covers everyone)."""
    await session.execute(delete(DirtyMember))


async def advance_backfill(session: AsyncSession, rule_id: int, version: int, *, done: int, changed: int) -> bool:
    """Add a chunk's members and changes to the back-fill's progress; False when a new version replaced it."""
    result = await session.execute(
        text("UPDATE rule_backfills SET done = done + :d, changed = changed + :c "
             "WHERE rule_id = :r AND rule_version = :v AND state = 'running'"),
        {"d": done, "c": changed, "r": rule_id, "v": version},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
