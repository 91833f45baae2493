"""SQL of communities, their members and sightings, and the matrix counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.communities.models import Community, CommunityMember, CommunityPeriod, CommunitySighting
from campaign_service.registrations.models import Registration

# A period's registrants: those whose place is confirmed (paid, or free).
REGISTERED = Registration.state == "confirmed"


async def see_group(session: AsyncSession, open_gid: str, at: datetime) -> Community:
    """The group of ``open_gid``, created on first sight; its last activity moves to ``at``."""
    community_id = await session.scalar(
        insert(Community)
        .values(open_gid=open_gid, first_seen_at=at, last_seen_at=at)
        .on_conflict_do_update(
            index_elements=["open_gid"],
            set_={"last_seen_at": func.greatest(Community.last_seen_at, at)},
        )
        .returning(Community.id)
    )
    community = await session.get(Community, community_id, populate_existing=True, with_for_update=True)
    assert community is not None
    return community


async def see_member(
    session: AsyncSession, community_id: int, member_no: int, at: datetime, *, period_ids: list[int]
) -> bool:
    """Record a member in a group (the sighting counts for ``period_ids``); True on their first sighting there."""
    inserted = await session.scalar(
        insert(CommunityMember)
        .values(community_id=community_id, member_no=member_no, first_seen_at=at, last_seen_at=at)
        .on_conflict_do_update(
            index_elements=["community_id", "member_no"],
            set_={
                "last_seen_at": func.greatest(CommunityMember.last_seen_at, at),
                "sightings": CommunityMember.sightings + 1,
            },
        )
        .returning(literal_column("xmax = 0"))
    )
    session.add(
        CommunitySighting(
            community_id=community_id, member_no=member_no, seen_at=at, period_ids=period_ids,
            period_id=period_ids[0] if period_ids else None,
        )
    )
    await session.flush()
    return bool(inserted)


async def get(session: AsyncSession, community_id: int, *, lock: bool = False) -> Community | None:
    """One group."""
    return await session.get(Community, community_id, with_for_update=lock or None)


async def page(
    session: AsyncSession,
    *,
    period_id: int | None,
    unlinked: bool,
    after_id: int | None,
    limit: int,
) -> list[Community]:
    """Groups by id, filtered by a period they serve or served, or by having no current link."""
    stmt = select(Community).order_by(Community.id).limit(limit)
    if period_id is not None:
        stmt = stmt.where(Community.id.in_(
            select(CommunityPeriod.community_id).where(CommunityPeriod.period_id == period_id)
        ))
    if unlinked:
        stmt = stmt.where(Community.period_id.is_(None))
    if after_id is not None:
        stmt = stmt.where(Community.id > after_id)
    return list(await session.scalars(stmt))


async def of_periods(session: AsyncSession, period_ids: list[int]) -> list[tuple[int, Community]]:
    """(period, group) for every group linked to one of these periods, now or before."""
    if not period_ids:
        return []
    rows = await session.execute(
        select(CommunityPeriod.period_id, Community)
        .join(Community, Community.id == CommunityPeriod.community_id)
        .where(CommunityPeriod.period_id.in_(period_ids))
        .distinct()
        .order_by(CommunityPeriod.period_id, Community.id)
    )
    return [(pid, community) for pid, community in rows]


async def links(session: AsyncSession, community_ids: list[int]) -> list[CommunityPeriod]:
    """Every link of these groups, current and ended, oldest first."""
    if not community_ids:
        return []
    return list(
        await session.scalars(
            select(CommunityPeriod)
            .where(CommunityPeriod.community_id.in_(community_ids))
            .order_by(CommunityPeriod.linked_at, CommunityPeriod.id)
        )
    )


async def current_link(session: AsyncSession, community_id: int, period_id: int) -> CommunityPeriod | None:
    """The open link of a group to a period, if any."""
    return await session.scalar(
        select(CommunityPeriod).where(
            CommunityPeriod.community_id == community_id,
            CommunityPeriod.period_id == period_id,
            CommunityPeriod.unlinked_at.is_(None),
        )
    )


async def current_period_ids(session: AsyncSession, community_id: int) -> list[int]:
    """The periods a group is linked to now, most recently linked first."""
    return list(
        await session.scalars(
            select(CommunityPeriod.period_id)
            .where(CommunityPeriod.community_id == community_id, CommunityPeriod.unlinked_at.is_(None))
            .order_by(CommunityPeriod.linked_at.desc(), CommunityPeriod.id.desc())
        )
    )


async def members_seen(session: AsyncSession, community_ids: list[int]) -> dict[int, int]:
    """Members seen per group."""
    if not community_ids:
        return {}
    rows = await session.execute(
        select(CommunityMember.community_id, func.count())
        .where(CommunityMember.community_id.in_(community_ids))
        .group_by(CommunityMember.community_id)
    )
    return {cid: count for cid, count in rows}


async def registrants_seen(
    session: AsyncSession, period_ids: list[int], community_ids: list[int]
) -> dict[tuple[int, int], int]:
    """(period, group) → registrants of the period seen in the group."""
    if not period_ids or not community_ids:
        return {}
    rows = await session.execute(
        select(
            Registration.period_id,
            CommunityMember.community_id,
            func.count(func.distinct(Registration.member_no)),
        )
        .join(CommunityMember, CommunityMember.member_no == Registration.member_no)
        .where(
            REGISTERED,
            Registration.period_id.in_(period_ids),
            CommunityMember.community_id.in_(community_ids),
        )
        .group_by(Registration.period_id, CommunityMember.community_id)
    )
    return {(pid, cid): count for pid, cid, count in rows}


async def registrants(session: AsyncSession, period_ids: list[int]) -> dict[int, int]:
    """Confirmed registrants per period."""
    if not period_ids:
        return {}
    rows = await session.execute(
        select(Registration.period_id, func.count())
        .where(REGISTERED, Registration.period_id.in_(period_ids))
        .group_by(Registration.period_id)
    )
    return {pid: count for pid, count in rows}


async def members_page(
    session: AsyncSession, community_id: int, *, after: int | None, limit: int
) -> list[CommunityMember]:
    """Members seen in a group, by member number."""
    stmt = (
        select(CommunityMember)
        .where(CommunityMember.community_id == community_id)
        .order_by(CommunityMember.member_no)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(CommunityMember.member_no > after)
    return list(await session.scalars(stmt))


async def registered_among(session: AsyncSession, period_id: int, member_nos: list[int]) -> set[int]:
    """Which of ``member_nos`` are confirmed registrants of the period."""
    if not member_nos:
        return set()
    return set(
        await session.scalars(
            select(Registration.member_no).where(
                REGISTERED, Registration.period_id == period_id, Registration.member_no.in_(member_nos)
            )
        )
    )
