"""Auto-tagging: a rule's condition is evaluated for members whose facts changed, and back-filled over all.

An ``apply`` rule tags the members that meet its condition and takes its own
tag off members that no longer do (tags applied by staff are left alone); a
``remove`` rule takes the tag off members that meet it. Both are idempotent:
running a rule twice over the same facts changes nothing the second time.
Each application records which rule (and version) and which clauses explain it.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from pyroaring import BitMap64
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import ServiceError
from tagging_service.rules import apply, backfill, errors, repository
from tagging_service.rules.models import TagRule
from tagging_service.rules.schemas import BackfillRead, TagRuleCreate, TagRuleRead
from tagging_service.segments.facts import FactCache
from tagging_service.segments.language import parse_definition
from tagging_service.segments.service import SegmentEngine, validate
from tagging_service.tags import errors as tag_errors
from tagging_service.tags import repository as tags_repo
from tagging_service.tags.models import Tag

CHUNK = 5000  # dirty members judged per transaction
log = structlog.get_logger("tagging.rules")


async def _check(session: AsyncSession, body: TagRuleCreate, rule_id: int | None = None) -> None:
    await validate(session, body.condition, None, path="condition")
    tag = await tags_repo.get_tag(session, body.tag_id)
    if tag is None:
        raise tag_errors.tag_not_found()
    if tag.kind == "system":
        raise tag_errors.system_tag()


async def create(session: AsyncSession, body: TagRuleCreate, *, staff_id: int) -> TagRule:
    """Save a rule; an enabled one is back-filled over every member."""
    await _check(session, body)
    rule = TagRule(name=body.name, condition=body.condition, action=body.action, tag_id=body.tag_id,
                   expires_in_days=body.expires_in_days, enabled=body.enabled, created_by=staff_id, version=1)
    session.add(rule)
    await session.flush()
    if rule.enabled:
        await repository.schedule_backfill(session, rule)
    return rule


async def replace(session: AsyncSession, rule: TagRule, body: TagRuleCreate, *, now: datetime) -> TagRule:
    """Replace a rule; a new version is back-filled again."""
    await _check(session, body, rule.id)
    rule.name, rule.condition, rule.action, rule.tag_id = body.name, body.condition, body.action, body.tag_id
    rule.expires_in_days, rule.enabled = body.expires_in_days, body.enabled
    rule.version, rule.updated_at = rule.version + 1, now
    await session.flush()
    if rule.enabled:
        await repository.schedule_backfill(session, rule)
    return rule


async def require(session: AsyncSession, rule_id: int) -> TagRule:
    """A live rule, or 404."""
    rule = await repository.get(session, rule_id)
    if rule is None:
        raise errors.rule_not_found()
    return rule


def read_of(rule: TagRule) -> TagRuleRead:
    """The API shape of a rule."""
    return TagRuleRead(id=rule.id, name=rule.name, condition=rule.condition, action=rule.action, tag_id=rule.tag_id,
                       expires_in_days=rule.expires_in_days, enabled=rule.enabled, version=rule.version,
                       created_by=rule.created_by, created_at=rule.created_at, updated_at=rule.updated_at)


async def backfill_read(session: AsyncSession, rule_id: int) -> BackfillRead:
    """A rule's back-fill progress."""
    await require(session, rule_id)
    row = await repository.backfill(session, rule_id)
    if row is None:
        raise errors.backfill_not_found()
    return BackfillRead(rule_id=row.rule_id, rule_version=row.rule_version, state=row.state,
                        done=row.done, total=row.total, changed=row.changed, error=row.error,
                        started_at=row.started_at, finished_at=row.finished_at)


async def enforce(session: AsyncSession, rule: TagRule, tag: Tag, matched: BitMap64, scope: list[int],
                  *, now: datetime, cache: FactCache, mark_dirty: bool = True) -> int:
    """Make ``scope``'s tags agree with the rule, given who of them ``matched``; returns the changes."""
    carriers, owned = await apply.holders(session, tag.id, rule.id, scope)
    to_add, to_remove = apply.difference(rule, matched, carriers, owned, BitMap64(scope))
    return await apply.apply_difference(session, rule, tag, apply.Explainer(rule, cache), to_add=list(to_add),
                                        to_remove=list(to_remove), now=now, mark_dirty=mark_dirty)


async def process_dirty(
    session: AsyncSession, engine: SegmentEngine, *, now: datetime, limit: int = CHUNK,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> int:
    """Evaluate every enabled rule for the members whose facts changed; returns how many members.

    A member is marked dirty in the transaction of its change, so once the mark is
    seen the change is committed: the bitmaps are brought up to the change log
    first (``sessions``), else a rule could judge a tag change the index has not
    applied yet, and that member would not be looked at again.
    """
    dirty = await repository.take_dirty(session, limit)
    if not dirty:
        return 0
    if sessions is not None:
        await engine.index.ready.wait()
        await engine.index.refresh(sessions)
    among = BitMap64(dirty)
    mark_dirty = await apply.tags_matter(session)
    for rule in await repository.enabled(session):
        tag = await tags_repo.get_tag(session, rule.tag_id)
        if tag is None:
            continue
        try:
            matched, cache = await engine.evaluate_fresh(session, parse_definition(rule.condition, "condition"),
                                                         among)
        except ServiceError as exc:  # e.g. a segment it names was deleted: skip the rule, keep the others going
            log.warning("rule_skipped", rule_id=rule.id, error=exc.detail)
            continue
        await enforce(session, rule, tag, matched, dirty, now=now, cache=cache, mark_dirty=mark_dirty)
    return len(dirty)


async def run_backfill(sessions: async_sessionmaker[AsyncSession], engine: SegmentEngine, *, now: datetime) -> bool:
    """Run one pending back-fill to the end (see ``rules.backfill``); False when none waits."""
    return await backfill.run_one(sessions, engine, now=now)
