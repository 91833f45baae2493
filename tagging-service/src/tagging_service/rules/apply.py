"""Making members' tags agree with a rule, in bulk, each application with its evidence.

Both paths use this: the back-fill (every member, chunk by chunk) and the
incremental evaluation of the members whose facts changed. Given who matched,
the difference against the tag's current carriers is applied with one
statement per direction (``tags.repository.bulk_apply`` / ``bulk_remove``),
which also writes the index changes, dirty marks, timeline and outbox events.

Evidence of an application: the rule (id, version), each clause of its
condition with the member's value for fact clauses, and the newest event ids
behind those values (kept per projection row, ``facts.repository.EVIDENCE_EVENTS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from pyroaring import BitMap64
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.tagging import MemberTagged, MemberUntagged
from shared.events.outbox import WAKE_KEY, WRITTEN_KEY, notify_sql, outbox_row, service_of
from tagging_service.facts.repository import EVIDENCE_EVENTS
from tagging_service.rules.models import TagRule
from tagging_service.segments.facts import FactCache, fact_event_ids
from tagging_service.segments.language import FactClause, leaves, parse_definition
from tagging_service.tags import repository as tags_repo
from tagging_service.tags.models import Tag

# Event ids named per application, over all its fact clauses.
MAX_EVIDENCE_EVENTS = 10


async def holders(session: AsyncSession, tag_id: int, rule_id: int, among: Sequence[int] | None
                  ) -> tuple[BitMap64, BitMap64]:
    """(every carrier of the tag, the carriers the rule applied it to), optionally among some members."""
    where = "" if among is None else " AND member_no = ANY(CAST(:among AS bigint[]))"
    params: dict[str, Any] = {"t": tag_id, "r": rule_id}
    if among is not None:
        params["among"] = list(among)
    row = (await session.execute(text(
        "SELECT coalesce(array_agg(member_no), '{}'), coalesce(array_agg(member_no) FILTER "  # noqa: S608
        f"(WHERE source = 'rule' AND source_id = :r), '{{}}') FROM member_tags WHERE tag_id = :t{where}"
    ), params)).one()
    return BitMap64(row[0]), BitMap64(row[1])


class Explainer:
    """Per-member evidence of a rule's application, from the facts its evaluation read."""

    def __init__(self, rule: TagRule, cache: FactCache) -> None:
        self.rule = rule
        self.cache = cache
        self.clauses = [leaf.clause for leaf in leaves(parse_definition(rule.condition, "condition"))]

    async def evidence(self, session: AsyncSession, member_nos: list[int]) -> tuple[list[str], list[str]]:
        """Each member's evidence (JSON) and, apart, its event ids (a JSON array: the event's ``evidence``)."""
        facts = [c for c in self.clauses if isinstance(c, FactClause)]
        events: dict[int, list[str]] = {}
        seen: set[tuple[Any, ...]] = set()
        for clause in facts:
            if clause.key() in seen:
                continue
            seen.add(clause.key())
            found = await fact_event_ids(session, clause, self.cache.tz, member_nos, EVIDENCE_EVENTS)
            for member_no, ids in found.items():
                mine = events.setdefault(member_no, [])
                mine += [i for i in ids if i not in mine]
        # Each clause is serialised once; per member only a fact clause's value is spliced in (building
        # and dumping a dict per member and clause was most of this process's CPU in a back-fill). A fact
        # clause shows the member's value in place of the clause's threshold.
        head = f'{{"rule_id":{self.rule.id},"rule_version":{self.rule.version},"facts":['
        pieces: list[tuple[str, dict[int, float] | None, bool]] = []
        for leaf in self.clauses:
            if isinstance(leaf, FactClause):
                read = self.cache.values.get(leaf.key())
                shown = orjson.dumps(leaf.model_dump(exclude_none=True, exclude={"value"})).decode()[:-1]
                # A member without a row counts as 0, except for rates (no answers: no rate).
                pieces.append((shown + ',"value":', read.values if read is not None else {},
                               leaf.fact != "quiz_error_rate"))
            else:
                pieces.append((orjson.dumps(leaf.model_dump(exclude_none=True)).decode(), None, False))
        evidence, event_ids = [], []
        for member_no in member_nos:
            facts_json = []
            for shown, values, zero in pieces:
                if values is None:
                    facts_json.append(shown)
                else:
                    value = values.get(member_no)
                    facts_json.append(f"{shown}{orjson.dumps(0.0 if value is None and zero else value).decode()}}}")
            behind = events.get(member_no)
            named = orjson.dumps(behind[:MAX_EVIDENCE_EVENTS]).decode() if behind else "[]"
            evidence.append(f'{head}{",".join(facts_json)}],"events":{named}}}')
            event_ids.append(named)
        return evidence, event_ids


def _wake_relay(session: AsyncSession) -> None:
    """The rows went in by SQL, not ``emit``: let the commit wake the relay as ``emit`` would."""
    session.info[WRITTEN_KEY] = True


async def tags_matter(session: AsyncSession) -> bool:
    """Whether some enabled rule's condition names a tag or a segment (then tag changes make members dirty)."""
    return bool(await session.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM tag_rules WHERE enabled AND deleted_at IS NULL "
        "AND (condition::text LIKE '%\"tag\"%' OR condition::text LIKE '%\"segment\"%'))"
    )))


async def apply_difference(
    session: AsyncSession, rule: TagRule, tag: Tag, explainer: Explainer, *, to_add: Sequence[int],
    to_remove: Sequence[int], now: datetime, mark_dirty: bool = True,
    evidence: tuple[list[str], list[str]] | None = None,
) -> int:
    """Apply the tag to ``to_add`` (with evidence) and take the rule's side of it off ``to_remove``.

    ``mark_dirty``: whether the changed members must be judged by the rules again (see ``tags_matter``);
    ``evidence``: ``explainer.evidence`` of ``to_add`` when the caller made it already.
    """
    source = service_of(session)
    changed = 0
    if to_add:
        expires = now + timedelta(days=rule.expires_in_days) if rule.expires_in_days else None
        template = outbox_row(MemberTagged(member_no=0, tag=tag.name, source="rule", tag_id=tag.id,
                                           source_id=rule.id, applied_at=now, expires_at=expires),
                              source=source, member_no=0)
        members = list(to_add)
        explained, evidence_events = evidence or await explainer.evidence(session, members)
        changed += len(await tags_repo.bulk_apply(
            session, tag_id=tag.id, member_nos=members, evidence=explained, evidence_events=evidence_events,
            source="rule", source_id=rule.id, now=now, expires_at=expires, event=template,
            timeline={"tag_id": tag.id, "tag": tag.name, "source": "rule", "source_id": rule.id, "reason": None},
            mark_dirty=mark_dirty,
        ))
    if to_remove:
        template = outbox_row(MemberUntagged(member_no=0, tag_id=tag.id, tag=tag.name, removed_by="rule",
                                             removed_by_id=rule.id), source=source, member_no=0)
        changed += len(await tags_repo.bulk_remove(
            session, tag_id=tag.id, member_nos=list(to_remove),
            only_source_id=rule.id if rule.action == "apply" else None, now=now, removed_by="rule",
            removed_by_id=rule.id, event=template,
            timeline={"tag_id": tag.id, "tag": tag.name, "removed_by": "rule", "removed_by_id": rule.id},
            mark_dirty=mark_dirty,
        ))
    if changed:
        _wake_relay(session)
        if session.info.get(WAKE_KEY) is None:
            await session.execute(text(notify_sql()))
    return changed


def difference(rule: TagRule, matched: BitMap64, carriers: BitMap64, owned: BitMap64, scope: BitMap64
               ) -> tuple[BitMap64, BitMap64]:
    """(to add, to remove) within ``scope``: ``apply`` tags the matched and untags its own unmatched;
    ``remove`` untags the matched."""
    if rule.action == "apply":
        return (matched & scope) - carriers, (owned & scope) - matched
    return BitMap64(), matched & carriers & scope
