"""Back-filling a rule over every member: one evaluation, then the difference applied in bulk.

The condition is evaluated once for all members as a bitmap expression (tags
from the in-memory index, brought up to the change log first; facts read
now). The tag's carriers are read once. The difference (members to tag, the
rule's own carriers to untag) is applied in member order, at most ``CHUNK``
members of the universe per transaction (equal chunks, a multiple of
``PARALLEL`` of them), progress (done, total, changed) committed with each
chunk. A second run finds no difference and changes nothing; an edit of
the rule meanwhile stops this run (the new version's back-fill takes over).
Members whose facts change during the run are marked dirty and re-evaluated
incrementally afterwards, so they end up right either way.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from tagging_service.rules import apply, errors, repository
from tagging_service.segments.language import parse_definition
from tagging_service.segments.service import SegmentEngine
from tagging_service.tags import repository as tags_repo

CHUNK = 20_000
# Chunks applied at once (each in its own transaction).
PARALLEL = 2
log = structlog.get_logger("tagging.rules.backfill")


def chunk_size(total: int) -> int:
    """Members per chunk: at most ``CHUNK``, and a multiple of ``PARALLEL`` chunks of equal size.

    With 100,000 members in chunks of 20,000, two workers ran 2 + 2 + 1 chunks: the last fifth of the
    work alone on one core. Six chunks of 16,667 keep both busy to the end.
    """
    rounds = max(1, math.ceil(total / (CHUNK * PARALLEL)))
    return max(1, math.ceil(total / (rounds * PARALLEL)))


def _within(sorted_members: list[int], lo: int, hi: int) -> list[int]:
    return sorted_members[bisect.bisect_left(sorted_members, lo):bisect.bisect_right(sorted_members, hi)]


async def run_one(sessions: async_sessionmaker[AsyncSession], engine: SegmentEngine, *, now: datetime) -> bool:
    """Claim the oldest pending back-fill and run it to the end; False when none waits."""
    async with unit_of_work(sessions) as session:
        job = await repository.claim_pending_backfill(session, now)
        if job is None:
            return False
        rule_id, version = job.rule_id, job.rule_version
    try:
        await _run(sessions, engine, rule_id, version, now=now)
    except Exception as exc:
        async with unit_of_work(sessions) as session:
            job = await repository.backfill(session, rule_id)
            if job is not None and job.rule_version == version:
                job.state, job.error = "failed", repr(exc)[:500]
        raise
    return True


async def _run(sessions: async_sessionmaker[AsyncSession], engine: SegmentEngine, rule_id: int, version: int,
               *, now: datetime) -> None:
    await engine.index.ready.wait()
    await engine.index.refresh(sessions)
    async with unit_of_work(sessions) as session:
        rule = await repository.get(session, rule_id)
        if rule is None:
            raise errors.rule_not_found()
        tag = await tags_repo.get_tag(session, rule.tag_id)
        matched, cache = await engine.evaluate_fresh(session, parse_definition(rule.condition, "condition"))
        carriers, owned = await apply.holders(session, rule.tag_id, rule.id, None)
        universe = engine.index.members.copy()
        mark_dirty = await apply.tags_matter(session)
        job = await repository.backfill(session, rule_id)
        assert job is not None
        job.total = len(universe)
    if tag is None:  # the tag was deleted: nothing to apply
        to_add: list[int] = []
        to_remove: list[int] = []
    else:
        add_map, remove_map = apply.difference(rule, matched, carriers, owned, universe)
        to_add, to_remove = list(add_map), list(remove_map)
    explainer = apply.Explainer(rule, cache)
    total = len(universe)
    size = chunk_size(total)
    starts = iter(range(0, total, size))
    changed = 0
    stopped = False

    async def explain(adds: list[int]) -> tuple[list[str], list[str]] | None:
        # Read-only (the event ids behind the values), so outside the chunk's transaction.
        if tag is None or not adds:
            return None
        async with sessions() as session:
            return await explainer.evidence(session, adds)

    async def apply_chunk(start: int, adds: list[int], removes: list[int],
                          evidence: tuple[list[str], list[str]] | None) -> None:
        nonlocal changed, stopped
        async with unit_of_work(sessions) as session:
            current = await repository.get(session, rule_id)
            if current is None or current.version != version:
                stopped = True  # edited or retired meanwhile
                return
            n = 0
            if tag is not None and (adds or removes):
                n = await apply.apply_difference(session, current, tag, explainer, to_add=adds, to_remove=removes,
                                                 now=now, mark_dirty=mark_dirty, evidence=evidence)
            if not await repository.advance_backfill(session, rule_id, version, done=min(size, total - start),
                                                     changed=n):
                stopped = True
                return
        changed += n

    def take() -> tuple[int, list[int], list[int]] | None:
        start = next(starts, None)
        if start is None:
            return None
        lo, hi = universe[start], universe[min(start + size, total) - 1]
        return start, _within(to_add, lo, hi), _within(to_remove, lo, hi)

    async def worker() -> None:
        # Chunks cover disjoint members, so two transactions at once never touch the same rows
        # (PostgreSQL is the bottleneck: a second backend uses the second core). Each worker explains
        # its next chunk (Python, one read) while PostgreSQL writes the current one: done in turn,
        # the workers fell into step and PostgreSQL idled while both explained.
        chunk = take()
        pending = asyncio.ensure_future(explain(chunk[1])) if chunk is not None else None
        try:
            while chunk is not None and pending is not None and not stopped:
                evidence = await pending
                following = take()
                pending = asyncio.ensure_future(explain(following[1])) if following is not None else None
                await apply_chunk(chunk[0], chunk[1], chunk[2], evidence)
                chunk = following
        finally:
            # Stopped or failed with the next chunk's explanation still out: nobody will use it.
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await pending

    await asyncio.gather(*(worker() for _ in range(PARALLEL)))
    if stopped:
        return
    async with unit_of_work(sessions) as session:
        job = await repository.backfill(session, rule_id)
        if job is not None and job.rule_version == version:
            job.state, job.finished_at, job.done = "done", now, job.total
    log.info("backfill_done", rule_id=rule_id, version=version, members=total, changed=changed)

