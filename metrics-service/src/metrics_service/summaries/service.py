"""Keeping the summaries exact: what a batch touched is recomputed from the facts when the batch ends.

Handlers only *mark* what they changed (:func:`dirty`): a member whose
registrations, touches, follows or refunds moved; a series whose calendar
moved (a period opened or ended); a sighting. :func:`flush` (once per batch,
inside the batch's transaction, after the fact tables were written) then

- adds each sighting's member to its group's bitmap and to ``seen_after`` of
  every period of the group's series that had ended before the sighting (up
  to the group's own period);
- recomputes ``seen_after`` of every period of a marked series from the
  sightings (an end or a period order that arrived after its sightings);
- recomputes each marked member from the facts — the periods they are a
  member of, their cohort keys (source, destination), their channel funnel
  flags — and applies only the differences to the bitmaps and per-day
  counts.

Recomputing from the facts (rather than adding deltas per event) is what
makes the summaries equal to a recomputation whatever order or repetition
the events came in; :func:`rebuild_all` marks everything and is the same
code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity.bitmaps import MAX_MEMBER
from metrics_service.summaries import repository

MEMBERS, SEEN_AFTER = "members", "seen_after"
SOURCE, DESTINATION = "source", "destination"
DIRTY_KEY = "metrics_summaries"
CHUNK = 5000


@dataclass
class Dirty:
    """What the current batch changed."""

    members: set[int] = field(default_factory=set)
    series: set[int] = field(default_factory=set)
    periods: set[int] = field(default_factory=set)
    sightings: list[tuple[int, int, datetime, tuple[int, ...]]] = field(default_factory=list)


def dirty(session: AsyncSession) -> Dirty:
    """The marks of this transaction."""
    marks = session.info.get(DIRTY_KEY)
    if marks is None:
        marks = session.info[DIRTY_KEY] = Dirty()
    return marks


def mark_member(session: AsyncSession, member_no: int) -> None:
    """A member's campaign facts changed."""
    dirty(session).members.add(member_no)


def mark_period(session: AsyncSession, period_id: int) -> None:
    """A period's registrations, refunds or check-ins changed (its figure is recomputed)."""
    dirty(session).periods.add(period_id)


def mark_series(session: AsyncSession, series_id: int | None) -> None:
    """A series' calendar changed (a period opened, ended or got its number)."""
    if series_id is not None:
        dirty(session).series.add(series_id)


def mark_sighting(
    session: AsyncSession, *, community_id: int, member_no: int, at: datetime, period_ids: list[int]
) -> None:
    """A member was seen in a group that counted for ``period_ids`` at that moment."""
    dirty(session).sightings.append((community_id, member_no, at, tuple(period_ids)))


async def flush(session: AsyncSession) -> None:
    """Bring the summaries up to date with the facts this transaction wrote."""
    marks: Dirty | None = session.info.pop(DIRTY_KEY, None)
    if marks is None:
        return
    if marks.sightings:
        await _apply_sightings(session, marks.sightings)
    for series_id in sorted(marks.series):
        await recompute_series(session, series_id)
    for period_id in sorted(marks.periods):
        await recompute_period(session, period_id)
    members = sorted(m for m in marks.members if 0 <= m <= MAX_MEMBER)
    for i in range(0, len(members), CHUNK):
        chunk = members[i : i + CHUNK]
        await _memberships(session, chunk)
        await _cohorts(session, chunk)
        await _channels(session, chunk)


async def _apply_sightings(
    session: AsyncSession, sightings: list[tuple[int, int, datetime, tuple[int, ...]]]
) -> None:
    groups: dict[int, set[int]] = defaultdict(set)
    after: dict[int, set[int]] = defaultdict(set)
    ended = await repository.closed_periods_up_to(session, sorted({p for *_, ps in sightings for p in ps}))
    for community_id, member_no, at, period_ids in sightings:
        if not 0 <= member_no <= MAX_MEMBER:
            continue
        groups[community_id].add(member_no)
        for counted in period_ids:
            for period_id, closed_at in ended.get(counted, ()):
                if at > closed_at:
                    after[period_id].add(member_no)
    await _add(session, "community_bitmaps", {(c,): ms for c, ms in groups.items()})
    await _add(session, "period_bitmaps", {(p, SEEN_AFTER): ms for p, ms in after.items()})


async def _add(session: AsyncSession, table: str, additions: dict[tuple[Any, ...], set[int]]) -> None:
    if not additions:
        return
    stored = await repository.load(session, table, sorted(additions), lock=True)
    changed = {}
    for key, members in additions.items():
        current = stored.get(key, BitMap())
        before = len(current)
        current.update(BitMap(members))
        if len(current) != before:
            changed[key] = current
    await repository.store(session, table, changed)


async def recompute_series(session: AsyncSession, series_id: int) -> None:
    """``seen_after`` of every period of a series, from the sightings (definitions: in a group after N)."""
    from metrics_service.campaigns.repository import series_periods

    periods = await series_periods(session, series_id)
    ids = [p["period_id"] for p in periods]
    maps = {}
    await repository.load(session, "period_bitmaps", [(p, SEEN_AFTER) for p in ids], lock=True)
    for i, period in enumerate(periods):
        if period["closed_at"] is None:
            maps[(period["period_id"], SEEN_AFTER)] = BitMap()
            continue
        seen = await repository.seen_after_ended(session, period_ids=ids[i:], after=period["closed_at"])
        maps[(period["period_id"], SEEN_AFTER)] = BitMap(m for m in seen if 0 <= m <= MAX_MEMBER)
    await repository.store(session, "period_bitmaps", maps)


async def recompute_period(session: AsyncSession, period_id: int) -> None:
    """Store a period's figure, computed from its facts."""
    figure = await period_figure_of_facts(session, period_id)
    await session.execute(
        text(
            "INSERT INTO period_summaries (period_id, figure) VALUES (:p, CAST(:f AS jsonb)) "
            "ON CONFLICT (period_id) DO UPDATE SET figure = excluded.figure"
        ),
        {"p": period_id, "f": orjson.dumps(figure).decode()},
    )


async def period_figure_of_facts(session: AsyncSession, period_id: int) -> dict[str, Any]:
    """A period's figure from its facts (definitions: members of a period, completion)."""
    from metrics_service.campaigns import repository as campaigns

    summary = await campaigns.period_summary(session, period_id)
    plan_days, days, completed = await campaigns.checkin_days(session, period_id)
    bins = [0] * 10
    for n in days:
        percent = 100 * n / plan_days if plan_days else 0
        bins[min(int(percent // 10), 9)] += 1
    return {**summary, "checkin_days": plan_days, "deciles": bins, "members": len(days), "completed": completed}


async def _memberships(session: AsyncSession, members: list[int]) -> None:
    """Each member in (or out of) the ``members`` bitmap of every period they registered for."""
    rows = await repository.memberships(session, members)
    if not rows:
        return
    keys = sorted({(p, MEMBERS) for p, _, _ in rows})
    stored = await repository.load(session, "period_bitmaps", keys, lock=True)
    changed = {}
    for period_id, member_no, is_member in rows:
        key = (period_id, MEMBERS)
        current = stored.setdefault(key, BitMap())
        if is_member != (member_no in current):
            (current.add if is_member else current.discard)(member_no)
            changed[key] = current
    await repository.store(session, "period_bitmaps", changed)


def _cohort_of(row: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """(source_kind, source_id, source_scene, destination_id) from the facts (definitions: cohort views)."""
    if row is None:
        return None
    reg_at, reg_period, touch_at, channel_id, scene, last_period = row
    if touch_at is not None and (reg_at is None or touch_at <= reg_at):
        source: tuple[Any, ...] = ("channel", int(channel_id), scene)
    elif reg_at is not None:
        source = ("period", int(reg_period), None)
    else:
        source = (None, None, None)
    if source[0] is None and last_period is None:
        return None
    return (*source, int(last_period) if last_period is not None else None)


async def _cohorts(session: AsyncSession, members: list[int]) -> None:
    """Move each member between the source and destination bitmaps their facts now put them in."""
    fresh = await repository.cohort_keys(session, members)
    stored = await repository.stored_cohorts(session, members)
    moves: dict[tuple[Any, ...], tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    scenes: dict[tuple[Any, ...], str | None] = {}
    changed: dict[int, tuple[Any, ...] | None] = {}
    for member in members:
        old, new = stored.get(member), _cohort_of(fresh.get(member))
        if old == new:
            continue
        changed[member] = new
        for values, slot in ((old, 1), (new, 0)):
            if values is None:
                continue
            if values[0] is not None:
                key = (SOURCE, values[0], values[1])
                moves[key][slot].add(member)
                if slot == 0 and values[2] is not None:
                    scenes[key] = values[2]
            if values[3] is not None:
                moves[(DESTINATION, "period", values[3])][slot].add(member)
    if not changed:
        return
    current = await repository.load(session, "cohort_bitmaps", sorted(moves), lock=True)
    maps = {}
    for key, (added, removed) in moves.items():
        bitmap = current.get(key, BitMap())
        bitmap.difference_update(BitMap(removed))
        bitmap.update(BitMap(added))
        maps[key] = bitmap
    await repository.store(session, "cohort_bitmaps", maps, extra=scenes)
    await repository.put_cohorts(session, changed)


async def _channels(session: AsyncSession, members: list[int]) -> None:
    """Replace the members' channel funnel rows and move the per-day counts by the difference."""
    fresh = await repository.channel_flags(session, members)
    stored = await repository.stored_channel_members(session, members)
    rows = [
        {"channel_id": int(r["channel_id"]), "member_no": int(r["member_no"]), "day": definitions.local_day(r["at"]),
         "scene": str(r["scene"]), **{f: bool(r[f]) for f in repository.FLAGS}}
        for r in fresh
    ]

    def norm(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["channel_id"], r["member_no"], r["day"], r["scene"], *(bool(r[f]) for f in repository.FLAGS))

    if sorted(map(norm, rows)) == sorted(map(norm, stored)):
        return
    deltas: dict[tuple[int, Any], list[Any]] = {}
    signed: tuple[tuple[int, list[dict[str, Any]]], ...] = ((-1, stored), (1, rows))
    for sign, group in signed:
        for r in group:
            entry = deltas.setdefault((int(r["channel_id"]), r["day"]), [r["scene"], 0, 0, 0, 0, 0, 0])
            entry[0] = min(entry[0], r["scene"])
            entry[1] += sign
            for i, f in enumerate(repository.FLAGS):
                entry[i + 2] += sign * int(bool(r[f]))
    await repository.replace_channel_members(session, members, rows)
    await repository.add_channel_days(session, deltas)


async def rekey_member(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """A merge: the member's place in the period and group bitmaps moves to the kept number.

    Cohort keys and channel rows need no re-keying: both numbers are marked
    and recomputed from the (re-keyed) facts.
    """
    if not (0 <= from_no <= MAX_MEMBER and 0 <= into_no <= MAX_MEMBER):
        return
    for table in ("period_bitmaps", "community_bitmaps"):
        keys = await repository.all_keys(session, table)
        stored = await repository.load(session, table, keys, lock=True)
        changed = {}
        for key, bitmap in stored.items():
            if from_no in bitmap:
                bitmap.discard(from_no)
                bitmap.add(into_no)
                changed[key] = bitmap
        await repository.store(session, table, changed)
    mark_member(session, from_no)
    mark_member(session, into_no)
    periods = await session.scalars(
        text("SELECT DISTINCT period_id FROM registration_facts WHERE member_no = :m"), {"m": into_no}
    )
    dirty(session).periods.update(int(p) for p in periods)


async def rebuild_all(session: AsyncSession) -> None:
    """Recompute every summary from the facts (the bench's loader; a consistency check in tests)."""
    for table in ("period_bitmaps", "cohort_bitmaps", "member_cohorts", "channel_members", "channel_days",
                  "community_bitmaps", "period_summaries"):
        await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608
    series = await session.scalars(text("SELECT DISTINCT series_id FROM period_facts WHERE series_id IS NOT NULL"))
    marks = dirty(session)
    marks.series.update(int(s) for s in series)
    members = await session.scalars(
        text("SELECT member_no FROM registration_facts UNION SELECT member_no FROM channel_touches")
    )
    marks.members.update(int(m) for m in members)
    marks.periods.update(int(p) for p in await session.scalars(text("SELECT period_id FROM period_facts")))
    groups = await session.scalars(text("SELECT DISTINCT community_id FROM community_member_facts"))
    ids = [int(c) for c in groups]
    for community_id, members_seen in (await repository.community_members(session, ids)).items():
        await repository.store(
            session, "community_bitmaps", {(community_id,): BitMap(m for m in members_seen if 0 <= m <= MAX_MEMBER)}
        )
    await flush(session)
