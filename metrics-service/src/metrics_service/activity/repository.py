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


def _unit(unit: str) -> str:
    """A bucket unit for SQL; only the three literals ever reach the text."""
    if unit not in UNITS:
        raise ValueError(f"unknown bucket unit {unit!r}")
    return unit
