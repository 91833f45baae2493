"""SQL of tag groups, tags, member tags and the index change log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, DateTime, Text, bindparam, delete, func, insert, literal_column, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from uuid_utils import uuid7

from tagging_service.tags.models import MemberTag, MemberTagHistory, Tag, TagGroup


async def get_group(session: AsyncSession, group_id: int) -> TagGroup | None:
    """One tag group."""
    return await session.get(TagGroup, group_id)


async def groups(session: AsyncSession) -> list[TagGroup]:
    """Every tag group, by id."""
    return list(await session.scalars(select(TagGroup).order_by(TagGroup.id)))


async def get_tag(session: AsyncSession, tag_id: int) -> Tag | None:
    """A live tag."""
    tag = await session.get(Tag, tag_id)
    return tag if tag is not None and tag.deleted_at is None else None


async def tags_by_ids(session: AsyncSession, tag_ids: Sequence[int]) -> dict[int, Tag]:
    """Live tags of ``tag_ids``."""
    if not tag_ids:
        return {}
    rows = await session.scalars(select(Tag).where(Tag.id.in_(list(tag_ids)), Tag.deleted_at.is_(None)))
    return {t.id: t for t in rows}


async def live_tag_ids(session: AsyncSession) -> set[int]:
    """Ids of every live tag."""
    return set(await session.scalars(select(Tag.id).where(Tag.deleted_at.is_(None))))


async def system_tag(session: AsyncSession, key: str) -> Tag:
    """The system tag of ``key`` (created by the migrations)."""
    tag = await session.scalar(select(Tag).where(Tag.system_key == key))
    assert tag is not None, f"system tag {key} missing"
    return tag


async def list_tags(
    session: AsyncSession, *, group_id: int | None, q: str | None, after_id: int | None, limit: int
) -> list[Tag]:
    """Live tags by id, optionally of one group or matching a name."""
    stmt = select(Tag).where(Tag.deleted_at.is_(None)).order_by(Tag.id).limit(limit)
    if group_id is not None:
        stmt = stmt.where(Tag.group_id == group_id)
    if q:
        stmt = stmt.where(Tag.name.contains(q, autoescape=True))
    if after_id is not None:
        stmt = stmt.where(Tag.id > after_id)
    return list(await session.scalars(stmt))


async def upsert_member_tag(session: AsyncSession, values: dict[str, Any]) -> tuple[MemberTag, bool]:
    """Insert a member tag or refresh its expiry; returns the row and whether it is new."""
    stmt: ReturningInsert[MemberTag, bool] = (
        pg_insert(MemberTag).values(**values)
        .on_conflict_do_update(
            index_elements=["member_no", "tag_id"],
            set_={"expires_at": values.get("expires_at")},
        )
        .returning(MemberTag, literal_column("(xmax = 0)").label("inserted"))
    )
    row = (await session.execute(stmt, execution_options={"populate_existing": True})).one()
    return row[0], bool(row[1])


async def insert_new_member_tags(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert member tags not present yet; returns the member numbers that got the tag."""
    if not rows:
        return []
    stmt = pg_insert(MemberTag).values(rows).on_conflict_do_nothing().returning(MemberTag.member_no)
    return list((await session.execute(stmt)).scalars())


async def insert_tag_for_members(
    session: AsyncSession, *, tag_id: int, member_nos: Sequence[int], source: str, source_id: int | None,
    evidence: dict[str, Any], reason: str | None, applied_at: datetime, expires_at: datetime | None,
) -> list[int]:
    """One tag for many members in one statement (existing applications stay); returns who got it."""
    if not member_nos:
        return []
    rows = await session.execute(_INSERT_FOR_MEMBERS, {
        "members": list(member_nos), "tag_id": tag_id, "source": source, "source_id": source_id,
        "evidence": evidence, "reason": reason, "applied_at": applied_at, "expires_at": expires_at,
    })
    return [r[0] for r in rows]


_INSERT_FOR_MEMBERS = text(
    """INSERT INTO member_tags (member_no, tag_id, source, source_id, evidence, reason, applied_at, expires_at)
       SELECT m, :tag_id, :source, :source_id, :evidence, :reason, :applied_at, :expires_at
       FROM unnest(CAST(:members AS bigint[])) AS m
       ON CONFLICT (member_no, tag_id) DO NOTHING
       RETURNING member_no"""
).bindparams(bindparam("evidence", type_=JSONB), bindparam("source_id", type_=BigInteger),
             bindparam("reason", type_=Text), bindparam("expires_at", type_=DateTime(timezone=True)),
             bindparam("applied_at", type_=DateTime(timezone=True)))


async def remove_member_tags(
    session: AsyncSession, *, tag_id: int, member_nos: Sequence[int] | None, removed_at: datetime,
    removed_by: str, removed_by_id: int | None,
) -> list[MemberTag]:
    """Delete member tags (all of the tag when ``member_nos`` is None) into the history."""
    stmt = delete(MemberTag).where(MemberTag.tag_id == tag_id)
    if member_nos is not None:
        stmt = stmt.where(MemberTag.member_no.in_(list(member_nos)))
    removed = list((await session.execute(stmt.returning(MemberTag))).scalars())
    if removed:
        await session.execute(
            insert(MemberTagHistory),
            [
                {"member_no": r.member_no, "tag_id": r.tag_id, "source": r.source, "source_id": r.source_id,
                 "evidence": r.evidence, "reason": r.reason, "applied_at": r.applied_at,
                 "expires_at": r.expires_at, "removed_at": removed_at, "removed_by": removed_by,
                 "removed_by_id": removed_by_id}
                for r in removed
            ],
        )
    return removed


async def expired(session: AsyncSession, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(tag_id, member_no) of member tags past their expiry."""
    rows = await session.execute(
        select(MemberTag.tag_id, MemberTag.member_no)
        .where(MemberTag.expires_at.is_not(None), MemberTag.expires_at <= now).limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


async def member_tags(session: AsyncSession, member_no: int) -> list[tuple[MemberTag, Tag]]:
    """A member's current tags with their tag rows."""
    rows = await session.execute(
        select(MemberTag, Tag).join(Tag, Tag.id == MemberTag.tag_id)
        .where(MemberTag.member_no == member_no).order_by(MemberTag.applied_at.desc())
    )
    return [(r[0], r[1]) for r in rows]


async def tag_names_of(session: AsyncSession, member_nos: Sequence[int]) -> dict[int, list[str]]:
    """Names of the current tags of each member."""
    if not member_nos:
        return {}
    rows = await session.execute(
        select(MemberTag.member_no, Tag.name).join(Tag, Tag.id == MemberTag.tag_id)
        .where(MemberTag.member_no.in_(list(member_nos))).order_by(MemberTag.member_no, Tag.id)
    )
    names: dict[int, list[str]] = {}
    for member_no, name in rows:
        names.setdefault(member_no, []).append(name)
    return names


async def history(session: AsyncSession, member_no: int, limit: int = 50) -> list[tuple[MemberTagHistory, Tag]]:
    """A member's most recent tag removals."""
    rows = await session.execute(
        select(MemberTagHistory, Tag).join(Tag, Tag.id == MemberTagHistory.tag_id)
        .where(MemberTagHistory.member_no == member_no)
        .order_by(MemberTagHistory.removed_at.desc(), MemberTagHistory.id.desc()).limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


async def get_member_tag(session: AsyncSession, member_no: int, tag_id: int) -> MemberTag | None:
    """One current member tag."""
    return await session.get(MemberTag, (member_no, tag_id))


async def counts(session: AsyncSession, tag_ids: Sequence[int]) -> dict[int, int]:
    """Members carrying each tag now."""
    if not tag_ids:
        return {}
    rows = await session.execute(
        select(MemberTag.tag_id, func.count()).where(MemberTag.tag_id.in_(list(tag_ids))).group_by(MemberTag.tag_id)
    )
    return {r[0]: r[1] for r in rows}


async def record_changes(session: AsyncSession, kind: str, key: int, member_nos: Sequence[int], added: bool) -> None:
    """Log changes for the in-memory bitmaps of every process (one row naming every member)."""
    if member_nos:
        await session.execute(_RECORD_CHANGES, {"kind": kind, "key": key, "members": list(member_nos), "added": added})


_RECORD_CHANGES = text(
    "INSERT INTO index_changes (kind, key, member_nos, added) VALUES (:kind, :key, CAST(:members AS bigint[]), :added)"
)


# Bulk applications (rule back-fills): one statement per chunk writes the member
# tags and, for the rows that were really new, one index change naming them all,
# the dirty marks, the timeline entries and the outbox events. Event ids (UUIDv7)
# and the envelopes come from Python, one per input member (a member that turned
# out to hold the tag already leaves them unused): an envelope is a template with
# the member and event id spliced in, cheaper as a string here than as jsonb
# operators in PostgreSQL, which is the back-fill's bottleneck (about a quarter of
# the statement's CPU went to building them there).

# Splits the JSON texts of one parameter (chr(31) is escaped inside JSON strings).
UNIT = "\x1f"

_BULK_APPLY = text(
    """WITH input AS MATERIALIZED (
          SELECT u.m, CAST(u.ev AS jsonb) AS evidence, u.id AS event_id, u.envelope
          FROM unnest(CAST(string_to_array(CAST(:members AS text), ',') AS bigint[]),
                      string_to_array(CAST(:evidence AS text), chr(31)),
                      CAST(string_to_array(CAST(:ids AS text), ',') AS uuid[]),
                      string_to_array(CAST(:envelopes AS text), chr(31))) AS u(m, ev, id, envelope)
        ), new AS (
          INSERT INTO member_tags (member_no, tag_id, source, source_id, evidence, reason, applied_at, expires_at)
          SELECT m, :tag_id, :source, :source_id, evidence, NULL, :now, :expires_at FROM input ORDER BY m
          ON CONFLICT (member_no, tag_id) DO NOTHING
          RETURNING member_no
        ), ids AS MATERIALIZED (
          SELECT input.m AS member_no, input.event_id, input.envelope FROM new JOIN input ON input.m = new.member_no
        ), changes AS (
          INSERT INTO index_changes (kind, key, member_nos, added)
          SELECT 'tag', :tag_id, array_agg(member_no ORDER BY member_no), true FROM ids HAVING count(*) > 0
        ), dirty AS (
          INSERT INTO rule_dirty_members (member_no) SELECT member_no FROM ids WHERE :mark_dirty
        ), timeline AS (
          INSERT INTO timeline_entries (member_no, at, kind, data)
          SELECT member_no, :now, 'tag.applied', CAST(:timeline AS jsonb) FROM ids
        ), events AS (
          INSERT INTO outbox (event_id, topic, key, type, envelope)
          SELECT event_id, :topic, member_no::text, :type, CAST(envelope AS jsonb) FROM ids ORDER BY ids.member_no
        )
        SELECT member_no FROM ids"""
).bindparams(bindparam("source_id", type_=BigInteger), bindparam("expires_at", type_=DateTime(timezone=True)),
             bindparam("now", type_=DateTime(timezone=True)))

_BULK_REMOVE = text(
    """WITH gone AS (
          DELETE FROM member_tags WHERE tag_id = :tag_id
            AND member_no = ANY(CAST(string_to_array(CAST(:members AS text), ',') AS bigint[]))
            AND (CAST(:only_source_id AS bigint) IS NULL OR (source = 'rule' AND source_id = :only_source_id))
          RETURNING *
        ), history AS (
          INSERT INTO member_tag_history (member_no, tag_id, source, source_id, evidence, reason, applied_at,
                                          expires_at, removed_at, removed_by, removed_by_id)
          SELECT member_no, tag_id, source, source_id, evidence, reason, applied_at, expires_at, :now,
                 :removed_by, :removed_by_id FROM gone ORDER BY member_no
        ), ids AS MATERIALIZED (
          SELECT gone.member_no, u.id AS event_id, u.envelope
          FROM gone JOIN unnest(CAST(string_to_array(CAST(:members AS text), ',') AS bigint[]),
                                CAST(string_to_array(CAST(:ids AS text), ',') AS uuid[]),
                                string_to_array(CAST(:envelopes AS text), chr(31))) AS u(m, id, envelope)
            ON u.m = gone.member_no
        ), changes AS (
          INSERT INTO index_changes (kind, key, member_nos, added)
          SELECT 'tag', :tag_id, array_agg(member_no ORDER BY member_no), false FROM ids HAVING count(*) > 0
        ), dirty AS (
          INSERT INTO rule_dirty_members (member_no) SELECT member_no FROM ids WHERE :mark_dirty
        ), timeline AS (
          INSERT INTO timeline_entries (member_no, at, kind, data)
          SELECT member_no, :now, 'tag.removed', CAST(:timeline AS jsonb) FROM ids
        ), events AS (
          INSERT INTO outbox (event_id, topic, key, type, envelope)
          SELECT event_id, :topic, member_no::text, :type, CAST(envelope AS jsonb) FROM ids ORDER BY ids.member_no
        )
        SELECT member_no FROM ids"""
).bindparams(bindparam("removed_by_id", type_=BigInteger), bindparam("only_source_id", type_=BigInteger),
             bindparam("now", type_=DateTime(timezone=True)))


def _packed(values: Sequence[Any], separator: str = ",") -> str:
    """Values as one text parameter that ``string_to_array`` splits (JSON is split at chr(31), which it
    never holds raw): asyncpg checks every element of a list parameter against abstract base classes,
    which cost the back-fill more than PostgreSQL's splitting."""
    return separator.join(values) if values and isinstance(values[0], str) else separator.join(map(str, values))


def _event_ids(n: int) -> list[str]:
    """``n`` fresh event ids (UUIDv7, as text: the standard library's UUID objects cost ~20 µs each)."""
    return [str(uuid7()) for _ in range(n)]


def envelopes(event: dict[str, Any], ids: Sequence[str], member_nos: Sequence[int],
              evidence_events: Sequence[str] | None = None) -> list[str]:
    """The JSON envelope of ``event`` (an outbox row) for each member, with its event id and member number.

    ``evidence_events``: each member's evidence event ids (a JSON array) for the data's ``evidence``.
    The template is serialised once and each envelope spliced from its pieces (jsonb orders keys itself).
    """
    envelope = {k: v for k, v in event["envelope"].items() if k not in ("id", "member_no", "data")}
    data = {k: v for k, v in event["envelope"]["data"].items() if k not in ("member_no", "evidence")}
    head = orjson.dumps(envelope).decode()[:-1] + ("," if envelope else "")
    data_head = orjson.dumps(data).decode()[:-1] + ("," if data else "")
    if evidence_events is None:
        return [f'{head}"id":"{i}","member_no":{m},"data":{data_head}"member_no":{m}}}}}'
                for i, m in zip(ids, member_nos, strict=True)]
    return [f'{head}"id":"{i}","member_no":{m},"data":{data_head}"member_no":{m},"evidence":{e}}}}}'
            for i, m, e in zip(ids, member_nos, evidence_events, strict=True)]


async def bulk_apply(
    session: AsyncSession, *, tag_id: int, member_nos: Sequence[int], evidence: Sequence[str],
    evidence_events: Sequence[str], source: str, source_id: int | None, now: datetime,
    expires_at: datetime | None, event: dict[str, Any], timeline: dict[str, Any], mark_dirty: bool = True,
) -> list[int]:
    """Apply a tag to many members with their evidence (JSON each); returns who got it (new applications).

    ``event`` is the outbox row of one ``tagging.member.tagged`` (its id, member and evidence replaced per
    row: ``evidence_events``, a JSON array of event ids each); ``mark_dirty``: whether rules must look at
    these members again (some rule's condition names tags).
    """
    if not member_nos:
        return []
    members = list(member_nos)
    ids = _event_ids(len(members))
    rows = await session.execute(_BULK_APPLY, {
        "members": _packed(members), "evidence": _packed(evidence, UNIT), "ids": _packed(ids),
        "envelopes": _packed(envelopes(event, ids, members, evidence_events), UNIT), "tag_id": tag_id, "source": source,
        "source_id": source_id, "now": now, "expires_at": expires_at, "topic": event["topic"],
        "type": event["type"], "timeline": json.dumps(timeline), "mark_dirty": mark_dirty,
    })
    return [r[0] for r in rows]


async def bulk_remove(
    session: AsyncSession, *, tag_id: int, member_nos: Sequence[int], only_source_id: int | None, now: datetime,
    removed_by: str, removed_by_id: int | None, event: dict[str, Any], timeline: dict[str, Any],
    mark_dirty: bool = True,
) -> list[int]:
    """Take a tag off many members into the history (only a rule's own with ``only_source_id``); returns who."""
    if not member_nos:
        return []
    members = list(member_nos)
    ids = _event_ids(len(members))
    rows = await session.execute(_BULK_REMOVE, {
        "members": _packed(members), "ids": _packed(ids), "envelopes": _packed(envelopes(event, ids, members), UNIT),
        "tag_id": tag_id,
        "only_source_id": only_source_id, "now": now, "removed_by": removed_by, "removed_by_id": removed_by_id,
        "topic": event["topic"], "type": event["type"], "timeline": json.dumps(timeline), "mark_dirty": mark_dirty,
    })
    return [r[0] for r in rows]
