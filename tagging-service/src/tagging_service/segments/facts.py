"""Fact and attribute clauses as bitmaps: one SQL aggregate each, kept for a second.

Tag clauses come straight from the in-memory tag bitmaps; a fact clause is
materialised from PostgreSQL (the source of truth) into a member → value map
and a bitmap, cached per clause for ``TTL`` seconds, so a count is at most
that stale and repeated evaluations (pages, exports, rules) reuse it.
"""

from __future__ import annotations

import array
import asyncio
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from pyroaring import BitMap64
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tagging_service.segments.language import AttrClause, FactClause, FactSelector

TTL = 1.0
log = structlog.get_logger("tagging.facts")
# Background refreshes in flight (a reference keeps each task alive until done).
_BACKGROUND: set[asyncio.Task[None]] = set()


def _window(column: str, within_days: int | None, params: dict[str, Any], *, is_date: bool = False) -> str:
    if within_days is None:
        return ""
    params["days"] = within_days
    if is_date:
        return f" AND {column} > (now() AT TIME ZONE :tz)::date - CAST(:days AS integer)"
    return f" AND {column} > now() - make_interval(days => CAST(:days AS integer))"


@dataclass(frozen=True)
class FactQuery:
    """The pieces of a fact's aggregate: ``SELECT member, value FROM … WHERE … GROUP BY 1 …``."""

    member: str
    value: str
    source: str
    where: str
    having: str
    # The projection's recent event ids of a row (uuid[]) and the column that orders rows newest first.
    events: str
    newest: str
    params: dict[str, Any]

    def members_clause(self, member_nos: list[int] | None) -> str:
        if member_nos is None:
            return ""
        self.params["members"] = member_nos
        return f" AND {self.member} = ANY(CAST(:members AS bigint[]))"

    def aggregate(self, member_nos: list[int] | None = None) -> str:
        """``SELECT member_no, value`` for every member with a value."""
        return (f"SELECT {self.member}, {self.value} FROM {self.source} WHERE {self.where}"  # noqa: S608
                f"{self.members_clause(member_nos)} GROUP BY 1{self.having}")

    def event_ids(self, member_nos: list[int], keep: int) -> str:
        """``SELECT member_no, uuid[]``: the newest event ids behind each member's value."""
        return (f"SELECT {self.member}, (array_agg(ev ORDER BY {self.newest} DESC))[1:{keep}] "  # noqa: S608
                f"FROM {self.source} CROSS JOIN LATERAL unnest({self.events}) AS ev "
                f"WHERE {self.where} AND ev IS NOT NULL{self.members_clause(member_nos)} GROUP BY 1")


def fact_query(selector: FactSelector, tz: str) -> FactQuery:
    """How a fact is computed from the projection."""
    params: dict[str, Any] = {"tz": tz}
    scope = ""
    fact = selector.fact
    having = ""
    if fact in ("registered", "paid"):
        column = "mp.registered_at" if fact == "registered" else "mp.paid_at"
        if selector.series_id is not None:
            scope += " AND pi.series_id = :series"
        if selector.period_id is not None:
            scope += " AND mp.period_id = :period"
        scope += _window(column, selector.within_days, params)
        member, value, events, newest = "mp.member_no", "count(*)::float", "mp.event_ids", column
        source = "member_periods mp LEFT JOIN period_info pi ON pi.period_id = mp.period_id"
        where = f"mp.cancelled_at IS NULL AND {column} IS NOT NULL{scope}"
    elif fact == "checkins":
        if selector.series_id is not None:
            scope += " AND pi.series_id = :series"
        if selector.period_id is not None:
            scope += " AND c.period_id = :period"
        scope += _window("c.local_date", selector.within_days, params, is_date=True)
        member, value, events, newest = "c.member_no", "count(*)::float", "ARRAY[c.event_id]", "c.local_date"
        source = "member_checkins c LEFT JOIN period_info pi ON pi.period_id = c.period_id"
        where = f"NOT c.voided{scope}"
    elif fact == "in_group":
        if selector.series_id is not None:
            scope += " AND pi.series_id = :series"
        if selector.period_id is not None:
            scope += " AND cm.period_id = :period"
        scope += _window("g.last_seen_at", selector.within_days, params)
        member, value, events, newest = "g.member_no", "count(DISTINCT g.community_id)::float", "g.event_ids", \
            "g.last_seen_at"
        source = ("group_sightings g JOIN communities cm ON cm.community_id = g.community_id "
                  "LEFT JOIN period_info pi ON pi.period_id = cm.period_id")
        where = f"true{scope}"
    elif fact in ("quiz_answers", "quiz_error_rate"):
        source = "daily_quiz q"
        if selector.series_id is not None:
            # An answer that named only its period belongs to that period's series.
            source += " LEFT JOIN period_info pi ON pi.period_id = q.period_id AND q.series_id = 0"
            scope += " AND (q.series_id = :series OR (q.series_id = 0 AND pi.series_id = :series))"
        scope += _window("q.day", selector.within_days, params, is_date=True)
        value = "sum(q.answers)::float" if fact == "quiz_answers" else "sum(q.wrong)::float / sum(q.answers)"
        member, events, newest, where = "q.member_no", "q.event_ids", "q.day", f"true{scope}"
        having = " HAVING sum(q.answers) > 0"
    else:  # active_days
        scope += _window("a.day", selector.within_days, params, is_date=True)
        member, value, events, newest = "a.member_no", "count(DISTINCT a.day)::float", "a.event_ids", "a.day"
        source, where = "daily_activity a", f"a.items > 0{scope}"
    if selector.series_id is not None:
        params["series"] = selector.series_id
    if selector.period_id is not None:
        params["period"] = selector.period_id
    return FactQuery(member=member, value=value, source=source, where=where, having=having, events=events,
                     newest=newest, params=params)


def fact_sql(selector: FactSelector, tz: str, member_nos: list[int] | None = None) -> tuple[str, dict[str, Any]]:
    """The aggregate ``SELECT member_no, value`` of a fact (optionally for some members only)."""
    query = fact_query(selector, tz)
    return query.aggregate(member_nos), query.params


async def fact_event_ids(session: AsyncSession, selector: FactSelector, tz: str, member_nos: list[int],
                         keep: int) -> dict[int, list[str]]:
    """member → the newest event ids behind the member's value of a fact (evidence)."""
    query = fact_query(selector, tz)
    rows = await session.execute(text(query.event_ids(member_nos, keep)), query.params)
    return {int(m): [str(e) for e in ids] for m, ids in rows}


def matching(values: dict[int, float], op: str, target: float) -> list[int]:
    """The members whose value satisfies ``<op> target``, as :func:`compare` judges each.

    One comprehension per operator instead of a call per member: a back-fill judges every member.
    """
    items = values.items()
    if op == "gte":
        return [m for m, v in items if v >= target]
    if op == "gt":
        return [m for m, v in items if v > target]
    if op == "lte":
        return [m for m, v in items if v <= target]
    if op == "lt":
        return [m for m, v in items if v < target]
    return [m for m, v in items if abs(v - target) < 1e-9]


def compare(value: float, op: str, target: float) -> bool:
    """``value <op> target``."""
    if op == "gte":
        return value >= target
    if op == "gt":
        return value > target
    if op == "lte":
        return value <= target
    if op == "lt":
        return value < target
    return abs(value - target) < 1e-9


@dataclass(frozen=True)
class Materialised:
    """A fact's values as read at ``at`` (monotonic seconds), and the bitmap of members that have one."""

    at: float
    values: dict[int, float]
    present: BitMap64


@dataclass
class ClauseBitmap:
    """A fact clause evaluated in PostgreSQL: the members that meet it (or, ``complement``, that fail it)."""

    members: BitMap64
    complement: bool
    # Sequence value of ``fact_changes`` before the read, and (monotonic) when it was read and last checked.
    version: int
    read_at: float
    checked_at: float
    # When this version was first seen: a writer may still be committing for ``LOOKBACK`` after its bump.
    version_seen_at: float


# Re-read a clause whose tables did not change at least this often (``within_days`` windows move with time).
FORCE_AFTER = 60.0
# A change counted by the sequence may commit a little later: keep re-reading for this long after one.
LOOKBACK = 5.0
_COMPARE_SQL = {"gte": "s.v >= :target", "gt": "s.v > :target", "lte": "s.v <= :target", "lt": "s.v < :target",
                "eq": "abs(s.v - :target) < 1e-9"}


def bitmap_of(data: bytes | None) -> BitMap64:
    """Big-endian int8 values (``string_agg(int8send(…))``) as a bitmap, without a Python int per member."""
    if not data:
        return BitMap64()
    values = array.array("Q")
    values.frombytes(data)
    if sys.byteorder == "little":
        values.byteswap()
    return BitMap64(values)


def unchanged_since_read(version: int, version_seen_at: float, read_at: float, seen: int, now: float) -> bool:
    """Whether a cached read still holds: the fact tables' version is the one it was read at, that
    version is older than :data:`LOOKBACK` (no writer still committing), and the read is younger than
    :data:`FORCE_AFTER` (windows in days move with time)."""
    return seen == version and now - version_seen_at >= LOOKBACK and now - read_at < FORCE_AFTER


async def fact_version(session: AsyncSession) -> int:
    """How many statements have changed the fact tables (``fact_changes``; it only grows)."""
    row = (await session.execute(text("SELECT last_value, is_called FROM fact_changes"))).one()
    return int(row[0]) if row[1] else 0


async def clause_bitmap(session: AsyncSession, clause: FactClause, tz: str) -> tuple[BitMap64, bool]:
    """(members, complement) of a fact clause computed by PostgreSQL, shipped as one bytea.

    When members without a value meet the clause (count facts compared with 0),
    the members that *fail* it are returned instead (``complement``).
    """
    query = fact_query(clause, tz)
    complement = clause.fact != "quiz_error_rate" and compare(0.0, clause.op, clause.value)
    condition = _COMPARE_SQL[clause.op]
    if complement:
        condition = f"NOT ({condition})"
    sql = (f"SELECT string_agg(int8send(s.m), '') FROM ({query.aggregate()}) AS s(m, v) "  # noqa: S608
           f"WHERE {condition}")
    data = await session.scalar(text(sql), {**query.params, "target": float(clause.value)})
    return bitmap_of(data), complement


@dataclass
class FactCache:
    """Recently materialised fact values and clause bitmaps.

    With ``sessions`` set, a value older than ``TTL`` is served once more while
    a background task reads it again (stale-while-revalidate), so a busy
    segment never waits for the aggregate; without it (tests, rules) a stale
    value is read again in line.
    """

    tz: str
    # Restrict every aggregate to these members and keep what was read (rule evaluation of changed members).
    only: list[int] | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    values: dict[tuple[Any, ...], Materialised] = field(default_factory=dict)
    matched: dict[tuple[Any, ...], tuple[float, BitMap64]] = field(default_factory=dict)
    attrs: dict[tuple[Any, ...], tuple[float, BitMap64]] = field(default_factory=dict)
    clauses: dict[tuple[Any, ...], ClauseBitmap] = field(default_factory=dict)
    _refreshing: set[tuple[Any, ...]] = field(default_factory=set)

    async def _read(self, session: AsyncSession, selector: FactSelector) -> Materialised:
        sql, params = fact_sql(selector, self.tz, self.only)
        # Two arrays (decoded by the driver) instead of a row object per member: a back-fill reads
        # every member's value, and iterating 100,000 rows cost more than the aggregate.
        members, numbers = (await session.execute(text(
            "SELECT coalesce(array_agg(f.m), '{}'), coalesce(array_agg(CAST(f.v AS float8)), '{}') "  # noqa: S608
            f"FROM ({sql}) AS f(m, v)"
        ), params)).one()
        values = dict(zip(members, numbers, strict=True))
        found = Materialised(at=time.monotonic(), values=values, present=BitMap64(values.keys()))
        if len(self.values) > 256:
            self.values.clear()
            self.matched.clear()
        self.values[selector.key()] = found
        return found

    async def _refresh(self, selector: FactSelector) -> None:
        assert self.sessions is not None
        try:
            async with self.sessions() as session:
                await self._read(session, selector)
        except Exception as exc:  # the stale value stays; the next request tries again
            log.warning("fact_refresh_failed", error=repr(exc))
        finally:
            self._refreshing.discard(selector.key())

    async def materialised(self, session: AsyncSession, selector: FactSelector) -> Materialised:
        """The values of a fact, at most about ``TTL`` old."""
        key = selector.key()
        cached = self.values.get(key)
        if cached is None:
            return await self._read(session, selector)
        if self.only is not None or time.monotonic() - cached.at < TTL:
            return cached
        if self.sessions is None:
            return await self._read(session, selector)
        if key not in self._refreshing:
            self._refreshing.add(key)
            task = asyncio.create_task(self._refresh(selector))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)
        return cached

    async def fact_values(self, session: AsyncSession, selector: FactSelector) -> dict[int, float]:
        """member → value of a fact, for every member with a non-empty value."""
        return (await self.materialised(session, selector)).values

    async def _read_clause(self, session: AsyncSession, clause: FactClause) -> ClauseBitmap:
        version = await fact_version(session)
        members, complement = await clause_bitmap(session, clause, self.tz)
        now = time.monotonic()
        key = (*clause.key(), clause.op, clause.value)
        previous = self.clauses.get(key)
        seen_at = previous.version_seen_at if previous is not None and previous.version == version else now
        found = ClauseBitmap(members=members, complement=complement, version=version, read_at=now, checked_at=now,
                             version_seen_at=seen_at)
        if len(self.clauses) > 256:
            self.clauses.clear()
        self.clauses[key] = found
        return found

    async def _revalidate(self, clause: FactClause, cached: ClauseBitmap) -> None:
        """Read the clause again only if the fact tables may have changed since it was read."""
        assert self.sessions is not None
        key = (*clause.key(), clause.op, clause.value)
        try:
            async with self.sessions() as session:
                now = time.monotonic()
                version = await fact_version(session)
                if unchanged_since_read(cached.version, cached.version_seen_at, cached.read_at, version, now):
                    cached.checked_at = now
                else:
                    await self._read_clause(session, clause)
        except Exception as exc:  # the stale bitmap stays; the next request tries again
            log.warning("fact_refresh_failed", error=repr(exc))
        finally:
            self._refreshing.discard(key)

    async def _shared_clause(self, session: AsyncSession, clause: FactClause) -> ClauseBitmap:
        key = (*clause.key(), clause.op, clause.value)
        cached = self.clauses.get(key)
        if cached is None:
            return await self._read_clause(session, clause)
        if time.monotonic() - cached.checked_at >= TTL and key not in self._refreshing:
            self._refreshing.add(key)
            task = asyncio.create_task(self._revalidate(clause, cached))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)
        return cached

    async def fact(self, session: AsyncSession, clause: FactClause, universe: BitMap64) -> BitMap64:
        """Members whose fact value satisfies the clause (members without rows count as 0, except rates).

        The process-wide cache (``sessions`` set) keeps the clause's bitmap computed by PostgreSQL and
        re-reads it only when ``fact_changes`` moved (or after ``FORCE_AFTER``); rule evaluation reads
        the values themselves (they are its evidence).
        """
        if self.sessions is not None and self.only is None:
            shared = await self._shared_clause(session, clause)
            return universe - shared.members if shared.complement else shared.members & universe
        found = await self.materialised(session, clause)
        key = (*clause.key(), clause.op, clause.value)
        cached = self.matched.get(key)
        if cached is not None and cached[0] == found.at:
            matched = cached[1]
        else:
            matched = BitMap64(matching(found.values, clause.op, clause.value))
            self.matched[key] = (found.at, matched)
        if clause.fact != "quiz_error_rate" and compare(0.0, clause.op, clause.value):
            return (matched | (universe - found.present)) & universe
        return matched & universe

    async def attr(self, session: AsyncSession, clause: AttrClause) -> BitMap64:
        """Members whose attribute satisfies the clause.

        The process-wide cache (``sessions`` set) serves the last bitmap while a background task reads it
        again after ``TTL`` (stale-while-revalidate), like fact clauses: a request never waits for the scan.
        """
        value = clause.value
        key = (clause.attr, clause.op, tuple(value) if isinstance(value, list) else value)
        cached = self.attrs.get(key)
        now = time.monotonic()
        if cached is not None and (self.only is not None or now - cached[0] < TTL):
            return cached[1]
        if cached is not None and self.sessions is not None and self.only is None:
            if key not in self._refreshing:
                self._refreshing.add(key)
                task = asyncio.create_task(self._refresh_attr(clause, key))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
            return cached[1]
        return await self._read_attr(session, clause, key)

    async def _refresh_attr(self, clause: AttrClause, key: tuple[Any, ...]) -> None:
        assert self.sessions is not None
        try:
            async with self.sessions() as session:
                await self._read_attr(session, clause, key)
        except Exception as exc:  # the stale bitmap stays; the next request tries again
            log.warning("attr_refresh_failed", error=repr(exc))
        finally:
            self._refreshing.discard(key)

    async def _read_attr(self, session: AsyncSession, clause: AttrClause, key: tuple[Any, ...]) -> BitMap64:
        value = clause.value
        now = time.monotonic()
        params: dict[str, Any] = {"v": value, "tz": self.tz}
        if clause.attr in ("follows_oa", "has_phone"):
            where = f"{clause.attr} = :v"
        elif clause.attr == "first_channel":
            where = "first_channel = :v" if clause.op == "eq" else "first_channel = ANY(CAST(:v AS text[]))"
        else:
            sign = {"eq": "=", "gte": ">=", "lte": "<="}[clause.op]
            where = f"(member_since AT TIME ZONE :tz)::date {sign} :v"
        if self.only is not None:
            where += " AND member_no = ANY(CAST(:only AS bigint[]))"
            params["only"] = self.only
        # One bytea of member numbers (no Python int per row).
        data = await session.scalar(text(
            f"SELECT string_agg(int8send(member_no), '') FROM member_facts "  # noqa: S608
            f"WHERE merged_into IS NULL AND {where}"), params)
        bitmap = bitmap_of(data)
        if len(self.attrs) > 256:
            self.attrs.clear()
        self.attrs[key] = (now, bitmap)
        return bitmap
