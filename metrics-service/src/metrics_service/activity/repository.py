"""SQL of the activity rollups: batched upserts in, per-range aggregates out."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

UNITS = ("day", "week", "month")

# One statement per batch with array parameters: compiled once, any batch size.
_ADD_MEMBER_DAYS = text(
    """
    INSERT INTO member_days (day, member_no, events, mp_events, dwell_ms)
    SELECT * FROM unnest(CAST(:days AS date[]), CAST(:members AS bigint[]), CAST(:events AS int[]),
                         CAST(:mp AS int[]), CAST(:dwell AS bigint[]))
    ON CONFLICT (day, member_no) DO UPDATE SET
      events = member_days.events + excluded.events,
      mp_events = member_days.mp_events + excluded.mp_events,
      dwell_ms = member_days.dwell_ms + excluded.dwell_ms
    """
)

_ADD_HOURS = text(
    """
    INSERT INTO activity_hours (day, hour, events)
    SELECT * FROM unnest(CAST(:days AS date[]), CAST(:hours AS smallint[]), CAST(:events AS bigint[]))
    ON CONFLICT (day, hour) DO UPDATE SET events = activity_hours.events + excluded.events
    """
)


async def add_member_days(
    session: AsyncSession, rows: dict[tuple[date, int], tuple[int, int, int]]
) -> None:
    """Add ``(events, mp_events, dwell_ms)`` to each ``(day, member_no)``; one statement."""
    if not rows:
        return
    keys = sorted(rows)  # a fixed order: concurrent batches lock rows alike
    await session.execute(
        _ADD_MEMBER_DAYS,
        {
            "days": [k[0] for k in keys], "members": [k[1] for k in keys],
            "events": [rows[k][0] for k in keys], "mp": [rows[k][1] for k in keys],
            "dwell": [rows[k][2] for k in keys],
        },
    )


async def add_hours(session: AsyncSession, rows: dict[tuple[date, int], int]) -> None:
    """Add event counts to each ``(day, hour)``; one statement."""
    if not rows:
        return
    keys = sorted(rows)
    await session.execute(
        _ADD_HOURS,
        {"days": [k[0] for k in keys], "hours": [k[1] for k in keys], "events": [rows[k] for k in keys]},
    )


async def remember_openid(session: AsyncSession, *, openid: str, member_no: int) -> None:
    """Map an openid to its member (the latest announcement wins)."""
    await session.execute(
        text(
            "INSERT INTO member_openids (openid, member_no) VALUES (:o, :m) "
            "ON CONFLICT (openid) DO UPDATE SET member_no = excluded.member_no"
        ),
        {"o": openid, "m": member_no},
    )


async def member_of_openid(session: AsyncSession, openid: str) -> int | None:
    """The member an openid belongs to, if announced."""
    value = await session.scalar(text("SELECT member_no FROM member_openids WHERE openid = :o"), {"o": openid})
    return int(value) if value is not None else None


async def merge_member(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """Re-key one member's activity rows onto another (identity merged them)."""
    await session.execute(
        text(
            """
            INSERT INTO member_days (day, member_no, events, mp_events, dwell_ms)
            SELECT day, :into, events, mp_events, dwell_ms FROM member_days WHERE member_no = :from
            ON CONFLICT (day, member_no) DO UPDATE SET
              events = member_days.events + excluded.events,
              mp_events = member_days.mp_events + excluded.mp_events,
              dwell_ms = member_days.dwell_ms + excluded.dwell_ms
            """
        ),
        {"from": from_no, "into": into_no},
    )
    await session.execute(text("DELETE FROM member_days WHERE member_no = :from"), {"from": from_no})
    await session.execute(
        text("UPDATE member_openids SET member_no = :into WHERE member_no = :from"),
        {"from": from_no, "into": into_no},
    )


# --- reads -----------------------------------------------------------------


async def active_per_bucket(
    session: AsyncSession, *, first: date, last: date, unit: str, mp_only: bool = False
) -> dict[date, int]:
    """Distinct active members per bucket (day: DAU, week: WAU, month: MAU)."""
    u = _unit(unit)
    where = "AND mp_events > 0" if mp_only else ""
    rows = await session.execute(
        text(
            f"""
            SELECT date_trunc('{u}', day)::date AS bucket, count(DISTINCT member_no)
            FROM member_days WHERE day BETWEEN :first AND :last {where}
            GROUP BY 1
            """  # noqa: S608  (only fixed literals are interpolated)
        ),
        {"first": first, "last": last},
    )
    return {r[0]: int(r[1]) for r in rows}


async def distinct_active(session: AsyncSession, *, first: date, last: date) -> int:
    """Members active on at least one day of the range."""
    return int(
        await session.scalar(
            text("SELECT count(DISTINCT member_no) FROM member_days WHERE day BETWEEN :first AND :last"),
            {"first": first, "last": last},
        )
        or 0
    )


async def member_days_total(session: AsyncSession, *, first: date, last: date) -> int:
    """Active member-days in the range (the sum of the DAUs)."""
    return int(
        await session.scalar(
            text("SELECT count(*) FROM member_days WHERE day BETWEEN :first AND :last"),
            {"first": first, "last": last},
        )
        or 0
    )


async def dwell_per_bucket(
    session: AsyncSession, *, first: date, last: date, unit: str
) -> dict[date, tuple[int, int]]:
    """Per bucket: milliseconds in the mini-program and mini-program-active member-days."""
    u = _unit(unit)
    rows = await session.execute(
        text(
            f"""
            SELECT date_trunc('{u}', day)::date, sum(dwell_ms), count(*)
            FROM member_days WHERE day BETWEEN :first AND :last AND mp_events > 0
            GROUP BY 1
            """  # noqa: S608  (only fixed literals are interpolated)
        ),
        {"first": first, "last": last},
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


async def heatmap(session: AsyncSession, *, first: date, last: date) -> list[tuple[int, int, int]]:
    """Events by ISO weekday (1 = Monday) and hour over the range."""
    rows = await session.execute(
        text(
            """
            SELECT extract(isodow FROM day)::int, hour, sum(events)
            FROM activity_hours WHERE day BETWEEN :first AND :last GROUP BY 1, 2
            """
        ),
        {"first": first, "last": last},
    )
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


async def lifecycle(
    session: AsyncSession, *, first: date, last: date, unit: str
) -> dict[date, tuple[int, int, int, int]]:
    """Per bucket: new, returning, resurrecting and dormant members."""
    u = _unit(unit)
    rows = await session.execute(
        text(
            f"""
            WITH act AS (
              SELECT DISTINCT date_trunc('{u}', day)::date AS b, member_no FROM member_days
              WHERE day BETWEEN (date_trunc('{u}', CAST(:first AS date)) - INTERVAL '1 {u}')::date
                            AND :last
            ),
            fresh AS (
              SELECT date_trunc('{u}', first_seen_date)::date AS b, member_no FROM member_facts
              WHERE merged_into IS NULL AND first_seen_date BETWEEN :first AND :last
            ),
            buckets AS (
              SELECT generate_series(date_trunc('{u}', CAST(:first AS date)), CAST(:last AS date),
                                     INTERVAL '1 {u}')::date AS b
            )
            SELECT bk.b,
              (SELECT count(*) FROM fresh f WHERE f.b = bk.b),
              (SELECT count(*) FROM act a WHERE a.b = bk.b
                 AND EXISTS (SELECT 1 FROM act p WHERE p.member_no = a.member_no
                             AND p.b = (a.b - INTERVAL '1 {u}')::date)
                 AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.member_no = a.member_no AND f.b = a.b)),
              (SELECT count(*) FROM act a WHERE a.b = bk.b
                 AND NOT EXISTS (SELECT 1 FROM act p WHERE p.member_no = a.member_no
                                 AND p.b = (a.b - INTERVAL '1 {u}')::date)
                 AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.member_no = a.member_no AND f.b = a.b)),
              (SELECT count(*) FROM act p WHERE p.b = (bk.b - INTERVAL '1 {u}')::date
                 AND NOT EXISTS (SELECT 1 FROM act a WHERE a.member_no = p.member_no AND a.b = bk.b))
            FROM buckets bk ORDER BY 1
            """  # noqa: S608  (only fixed literals are interpolated)
        ),
        {"first": first, "last": last},
    )
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


async def retention(
    session: AsyncSession, *, first: date, last: date, unit: str, intervals: int
) -> list[tuple[date, int, int]]:
    """Rows ``(cohort, interval, members active)``: cohorts by first-seen bucket."""
    u = _unit(unit)
    rows = await session.execute(
        text(
            f"""
            WITH cohort AS (
              SELECT member_no, date_trunc('{u}', first_seen_date)::date AS c FROM member_facts
              WHERE merged_into IS NULL AND first_seen_date BETWEEN :first AND :last
            ),
            act AS (
              SELECT DISTINCT d.member_no, date_trunc('{u}', d.day)::date AS b
              FROM member_days d JOIN cohort USING (member_no)
              WHERE d.day >= :first
            ),
            k AS (
              SELECT c.c, CASE '{u}'
                  WHEN 'month' THEN (extract(year FROM a.b) * 12 + extract(month FROM a.b)
                                     - extract(year FROM c.c) * 12 - extract(month FROM c.c))::int
                  WHEN 'week' THEN (a.b - c.c) / 7
                  ELSE a.b - c.c END AS k,
                a.member_no
              FROM cohort c JOIN act a USING (member_no)
            )
            SELECT c, k, count(DISTINCT member_no) FROM k WHERE k BETWEEN 0 AND :intervals
            GROUP BY 1, 2 ORDER BY 1, 2
            """  # noqa: S608  (only fixed literals are interpolated)
        ),
        {"first": first, "last": last, "intervals": intervals},
    )
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


async def cohort_sizes(session: AsyncSession, *, first: date, last: date, unit: str) -> dict[date, int]:
    """Members first seen per bucket."""
    u = _unit(unit)
    rows = await session.execute(
        text(
            f"""
            SELECT date_trunc('{u}', first_seen_date)::date, count(*) FROM member_facts
            WHERE merged_into IS NULL AND first_seen_date BETWEEN :first AND :last GROUP BY 1
            """  # noqa: S608  (only fixed literals are interpolated)
        ),
        {"first": first, "last": last},
    )
    return {r[0]: int(r[1]) for r in rows}


def _unit(unit: str) -> str:
    """A bucket unit for SQL; only the three literals ever reach the text."""
    if unit not in UNITS:
        raise ValueError(f"unknown bucket unit {unit!r}")
    return unit
