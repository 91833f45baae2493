"""SQL of the overview projections: member facts and per-day counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity.repository import _unit
from metrics_service.overview.models import DailyCounter, MemberFact


async def add_member_fact(
    session: AsyncSession, *, member_no: int, seen_at: datetime, seen_date: date, app: str,
    channel_scene: str | None,
) -> bool:
    """Insert the member's first appearance; False if already known."""
    result = await session.execute(
        insert(MemberFact)
        .values(member_no=member_no, first_seen_at=seen_at, first_seen_date=seen_date,
                first_app=app, channel_scene=channel_scene)
        .on_conflict_do_nothing(index_elements=["member_no"])
        .returning(MemberFact.member_no)
    )
    return result.scalar() is not None


_ADD_COUNTERS = text(
    """
    INSERT INTO daily_counters (day, kind, value)
    SELECT * FROM unnest(CAST(:days AS date[]), CAST(:kinds AS text[]), CAST(:values AS bigint[]))
    ON CONFLICT (day, kind) DO UPDATE SET value = daily_counters.value + excluded.value, updated_at = now()
    """
)


async def add_counters(session: AsyncSession, values: dict[tuple[date, str], int]) -> None:
    """Add to the counters of ``(day, kind)``; one statement."""
    if not values:
        return
    keys = sorted(values)
    await session.execute(
        _ADD_COUNTERS,
        {"days": [k[0] for k in keys], "kinds": [k[1] for k in keys], "values": [values[k] for k in keys]},
    )


async def increment(session: AsyncSession, *, day: date, kind: str, by: int = 1) -> None:
    """Add ``by`` to the counter of ``kind`` on ``day``."""
    await add_counters(session, {(day, kind): by})


async def mark_merged(session: AsyncSession, *, from_member_no: int, into_member_no: int) -> None:
    """Remember that a member was merged into another."""
    await session.execute(
        update(MemberFact).where(MemberFact.member_no == from_member_no).values(merged_into=into_member_no)
    )


async def counters(session: AsyncSession, *, kind: str, since: date, until: date) -> list[DailyCounter]:
    """Counters of ``kind`` between two dates, inclusive."""
    rows = await session.scalars(
        select(DailyCounter)
        .where(DailyCounter.kind == kind, DailyCounter.day >= since, DailyCounter.day <= until)
        .order_by(DailyCounter.day)
    )
    return list(rows)


async def counters_per_bucket(
    session: AsyncSession, *, kinds: list[str], first: date, last: date, unit: str
) -> dict[str, dict[date, int]]:
    """Sums of each counter per bucket of the range."""
    u = _unit(unit)
    rows = await session.execute(
        text(
            f"""
            SELECT kind, date_trunc('{u}', day)::date, sum(value) FROM daily_counters
            WHERE kind = ANY(CAST(:kinds AS text[])) AND day BETWEEN :first AND :last GROUP BY 1, 2
            """  # noqa: S608  (only fixed literals are interpolated)
        ),
        {"kinds": kinds, "first": first, "last": last},
    )
    out: dict[str, dict[date, int]] = {k: {} for k in kinds}
    for kind, bucket, value in rows:
        out[kind][bucket] = int(value)
    return out


async def counters_by_day(
    session: AsyncSession, *, kinds: list[str], first: date, last: date
) -> dict[str, dict[date, int]]:
    """Each counter's value per day of the range (days without a row are left out); one statement."""
    rows = await session.execute(
        text(
            "SELECT kind, day, value FROM daily_counters"
            " WHERE kind = ANY(CAST(:kinds AS text[])) AND day BETWEEN :first AND :last"
        ),
        {"kinds": kinds, "first": first, "last": last},
    )
    out: dict[str, dict[date, int]] = {k: {} for k in kinds}
    for kind, day, value in rows:
        out[kind][day] = int(value)
    return out


async def member_count(session: AsyncSession) -> int:
    """Members known, merged ones excluded: every fact counted once in ``new_members``, less the merged ones."""
    total = await session.scalar(
        text(
            "SELECT (SELECT coalesce(sum(value), 0) FROM daily_counters WHERE kind = 'new_members')"
            " - (SELECT count(*) FROM member_facts WHERE merged_into IS NOT NULL)"
        )
    )
    return int(total or 0)
