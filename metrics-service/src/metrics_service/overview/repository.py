"""SQL of the overview projections."""

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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


async def increment(session: AsyncSession, *, day: date, kind: str, by: int = 1) -> None:
    """Add ``by`` to the counter of ``kind`` on ``day``."""
    stmt = insert(DailyCounter).values(day=day, kind=kind, value=by)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "kind"], set_={"value": DailyCounter.value + stmt.excluded.value}
        )
    )


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


async def member_count(session: AsyncSession) -> int:
    """Members known, merged ones excluded."""
    from sqlalchemy import func

    return int(
        await session.scalar(select(func.count()).select_from(MemberFact).where(MemberFact.merged_into.is_(None)))
        or 0
    )
