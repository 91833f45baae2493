"""Fact and attribute clauses as bitmaps: one SQL aggregate each, kept for a second.

Tag clauses come straight from the in-memory tag bitmaps; a fact clause is
materialised from PostgreSQL (the source of truth) into a member → value map
and a bitmap, cached per clause for ``TTL`` seconds, so a count is at most
that stale and repeated evaluations (pages, exports, rules) reuse it.
"""

from __future__ import annotations

import asyncio
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


def fact_sql(selector: FactSelector, tz: str, member_nos: list[int] | None = None) -> tuple[str, dict[str, Any]]:
    """The aggregate ``SELECT member_no, value`` of a fact (optionally for some members only)."""
    params: dict[str, Any] = {"tz": tz}
    scope = ""
    fact = selector.fact
    if fact in ("registered", "paid"):
        column = "mp.registered_at" if fact == "registered" else "mp.paid_at"
        if selector.series_id is not None:
            scope += " AND pi.series_id = :series"
        if selector.period_id is not None:
            scope += " AND mp.period_id = :period"
        scope += _window(column, selector.within_days, params)
        sql = (f"SELECT mp.member_no, count(*)::float FROM member_periods mp "  # noqa: S608
               f"LEFT JOIN period_info pi ON pi.period_id = mp.period_id "
               f"WHERE mp.cancelled_at IS NULL AND {column} IS NOT NULL{scope} {{members}} GROUP BY 1")
        members_column = "mp.member_no"
    elif fact == "checkins":
        if selector.series_id is not None:
            scope += " AND pi.series_id = :series"
        if selector.period_id is not None:
            scope += " AND c.period_id = :period"
        scope += _window("c.local_date", selector.within_days, params, is_date=True)
        sql = (f"SELECT c.member_no, count(*)::float FROM member_checkins c "  # noqa: S608
               f"LEFT JOIN period_info pi ON pi.period_id = c.period_id "
               f"WHERE NOT c.voided{scope} {{members}} GROUP BY 1")
        members_column = "c.member_no"
    elif fact == "in_group":
        if selector.series_id is not None:
            scope += " AND pi.series_id = :series"
        if selector.period_id is not None:
            scope += " AND cm.period_id = :period"
        scope += _window("g.last_seen_at", selector.within_days, params)
        sql = (f"SELECT g.member_no, count(DISTINCT g.community_id)::float FROM group_sightings g "  # noqa: S608
               f"JOIN communities cm ON cm.community_id = g.community_id "
               f"LEFT JOIN period_info pi ON pi.period_id = cm.period_id "
               f"WHERE true{scope} {{members}} GROUP BY 1")
        members_column = "g.member_no"
    elif fact in ("quiz_answers", "quiz_error_rate"):
        join = ""
        if selector.series_id is not None:
            # An answer that named only its period belongs to that period's series.
            join = "LEFT JOIN period_info pi ON pi.period_id = q.period_id AND q.series_id = 0 "
            scope += " AND (q.series_id = :series OR (q.series_id = 0 AND pi.series_id = :series))"
        scope += _window("q.day", selector.within_days, params, is_date=True)
        value = "sum(q.answers)::float" if fact == "quiz_answers" else "sum(q.wrong)::float / sum(q.answers)"
        sql = (f"SELECT q.member_no, {value} FROM daily_quiz q {join}WHERE true{scope} {{members}} "  # noqa: S608
               f"GROUP BY 1 HAVING sum(q.answers) > 0")
        members_column = "q.member_no"
    else:  # active_days
        scope += _window("a.day", selector.within_days, params, is_date=True)
        sql = (f"SELECT a.member_no, count(DISTINCT a.day)::float FROM daily_activity a "  # noqa: S608
               f"WHERE a.items > 0{scope} {{members}} GROUP BY 1")
        members_column = "a.member_no"
    if selector.series_id is not None:
        params["series"] = selector.series_id
    if selector.period_id is not None:
        params["period"] = selector.period_id
    members = ""
    if member_nos is not None:
        params["members"] = member_nos
        members = f"AND {members_column} = ANY(CAST(:members AS bigint[]))"
    return sql.format(members=members), params


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
    _refreshing: set[tuple[Any, ...]] = field(default_factory=set)

    async def _read(self, session: AsyncSession, selector: FactSelector) -> Materialised:
        sql, params = fact_sql(selector, self.tz, self.only)
        rows = await session.execute(text(sql), params)
        values = {int(m): float(v) for m, v in rows}
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

    async def fact(self, session: AsyncSession, clause: FactClause, universe: BitMap64) -> BitMap64:
        """Members whose fact value satisfies the clause (members without rows count as 0, except rates)."""
        found = await self.materialised(session, clause)
        key = (*clause.key(), clause.op, clause.value)
        cached = self.matched.get(key)
        if cached is not None and cached[0] == found.at:
            matched = cached[1]
        else:
            matched = BitMap64(m for m, v in found.values.items() if compare(v, clause.op, clause.value))
            self.matched[key] = (found.at, matched)
        if clause.fact != "quiz_error_rate" and compare(0.0, clause.op, clause.value):
            return (matched | (universe - found.present)) & universe
        return matched & universe

    async def attr(self, session: AsyncSession, clause: AttrClause) -> BitMap64:
        """Members whose attribute satisfies the clause."""
        value = clause.value
        key = (clause.attr, clause.op, tuple(value) if isinstance(value, list) else value)
        cached = self.attrs.get(key)
        now = time.monotonic()
        if cached is not None and (self.only is not None or now - cached[0] < TTL):
            return cached[1]
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
        rows = await session.execute(
            text(f"SELECT member_no FROM member_facts WHERE merged_into IS NULL AND {where}"), params  # noqa: S608
        )
        bitmap = BitMap64(m for (m,) in rows)
        if len(self.attrs) > 256:
            self.attrs.clear()
        self.attrs[key] = (now, bitmap)
        return bitmap
