"""Use cases of communities: sightings from shared cards, naming and linking, the matrix."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.communities import repository
from campaign_service.communities.models import Community, CommunityPeriod
from campaign_service.communities.schemas import (
    CommunityPeriodRead,
    CommunityRead,
    CommunityUpdate,
    GroupCell,
    MatrixRead,
    PeriodMatrix,
    Reach,
    SeriesMatrix,
    SightingCreate,
    SightingRead,
)
from campaign_service.members import MemberDirectory
from campaign_service.periods import repository as periods_repo
from campaign_service.periods.models import Period
from shared.contracts.campaign import CommunityLinked, CommunityMemberSeen, CommunityUnlinked
from shared.errors import Invalid, NotFound
from shared.events.outbox import emit
from shared.wechat.miniprogram import open_gid_from


async def record_sighting(
    session: AsyncSession, *, member_no: int, body: SightingCreate, members: MemberDirectory, now: datetime
) -> SightingRead:
    """Open the share/group-enter data through identity and record the member in that group."""
    payload = await members.decrypt(member_no, body.encrypted_data, body.iv)
    open_gid = open_gid_from(payload)
    if open_gid is None:
        raise Invalid("这不是群聊信息。", slug="not-group-data", title="Not group data")
    community = await repository.see_group(session, open_gid, now)
    period_ids = await repository.current_period_ids(session, community.id)
    first = await repository.see_member(session, community.id, member_no, now, period_ids=period_ids)
    if body.period_id is not None and community.period_id is None and community.proposed_period_id is None:
        period = await session.get(Period, body.period_id)
        if period is not None and period.state != "draft":
            community.proposed_period_id = period.id
            await session.flush()
    await emit(
        session,
        CommunityMemberSeen(
            member_no=member_no, open_gid=open_gid, community_id=community.id, period_id=community.period_id,
            period_ids=period_ids,
        ),
        member_no=member_no,
        occurred_at=now,
    )
    return SightingRead(
        community_id=community.id, name=community.name, period_id=community.period_id, first_time=first
    )


async def require(session: AsyncSession, community_id: int, *, lock: bool = False) -> Community:
    """A group or a 404."""
    community = await repository.get(session, community_id, lock=lock)
    if community is None:
        raise NotFound("社群不存在。", slug="community-not-found", title="Community not found")
    return community


async def update(
    session: AsyncSession, community: Community, body: CommunityUpdate, now: datetime
) -> Community:
    """Name a group and/or link it to one more period (``period_id: null`` ends every current link)."""
    changes = body.changes()
    if body.name is not None:
        community.name = body.name
    if "period_id" in changes:
        if body.period_id is not None:
            await link(session, community, body.period_id, now)
        else:
            for period_id in await repository.current_period_ids(session, community.id):
                await unlink(session, community, period_id, now)
    await session.flush()
    return community


async def link(session: AsyncSession, community: Community, period_id: int, now: datetime) -> None:
    """Link a group to a period as well (links to other periods stay); settles a pending proposal.

    Linking again to a period already linked changes nothing.
    """
    period = await session.get(Period, period_id)
    if period is None:
        raise NotFound("活动期不存在。", slug="period-not-found", title="Period not found")
    if await repository.current_link(session, community.id, period_id) is None:
        session.add(CommunityPeriod(community_id=community.id, period_id=period_id, linked_at=now))
        community.period_id, community.linked_at = period_id, now
        await emit(
            session,
            CommunityLinked(
                community_id=community.id, open_gid=community.open_gid, period_id=period_id,
                series_id=period.series_id, occurred_at=now,
            ),
            member_no=None, key=f"community-{community.id}", occurred_at=now,
        )
    community.proposed_period_id = None
    await session.flush()


async def unlink(session: AsyncSession, community: Community, period_id: int, now: datetime) -> None:
    """End a group's link to a period; earlier sightings keep counting for it."""
    current = await repository.current_link(session, community.id, period_id)
    if current is None:
        raise NotFound("该社群未关联此活动期。", slug="link-not-found", title="Link not found")
    current.unlinked_at = now
    await session.flush()
    period = await session.get(Period, period_id)
    await emit(
        session,
        CommunityUnlinked(
            community_id=community.id, open_gid=community.open_gid, period_id=period_id,
            series_id=period.series_id if period is not None else 0, occurred_at=now,
        ),
        member_no=None, key=f"community-{community.id}", occurred_at=now,
    )
    remaining = await repository.current_period_ids(session, community.id)
    if community.period_id == period_id:
        community.period_id = remaining[0] if remaining else None
        community.linked_at = None
        if remaining:
            link_of = await repository.current_link(session, community.id, remaining[0])
            community.linked_at = link_of.linked_at if link_of else None
    await session.flush()


async def read_of(session: AsyncSession, community: Community) -> CommunityRead:
    """The staff view with its links and the number of members seen."""
    read = CommunityRead.model_validate(community)
    read.members_seen = (await repository.members_seen(session, [community.id])).get(community.id, 0)
    read.periods = [
        CommunityPeriodRead.model_validate(link) for link in await repository.links(session, [community.id])
    ]
    return read


def _cell(
    community: Community, seen: dict[int, int], reach: dict[tuple[int, int], int], *, period_id: int | None
) -> GroupCell:
    """A group in the column of ``period_id`` (a group linked to several periods stands in each)."""
    return GroupCell(
        community_id=community.id,
        name=community.name,
        open_gid=community.open_gid,
        period_id=period_id,
        members_seen=seen.get(community.id, 0),
        period_members_seen=reach.get((period_id, community.id), 0) if period_id else 0,
        last_activity_at=community.last_seen_at,
    )


async def matrix(session: AsyncSession, *, series_id: int | None) -> MatrixRead:
    """Series → periods → groups, with members seen, registrants seen per group and last activity."""
    if series_id is not None:
        one = await periods_repo.get_series(session, series_id)
        if one is None:
            raise NotFound("系列不存在。", slug="series-not-found", title="Series not found")
        series = [one]
    else:
        series = await periods_repo.list_series(session, after_id=None, limit=500)
    periods = await periods_repo.periods_of(session, [s.id for s in series])
    period_ids = [p.id for p in periods]
    pairs = await repository.of_periods(session, period_ids)
    groups = list({g.id: g for _, g in pairs}.values())
    unlinked = (
        await repository.page(session, period_id=None, unlinked=True, after_id=None, limit=500)
        if series_id is None
        else []
    )
    seen = await repository.members_seen(session, [g.id for g in groups + unlinked])
    reach = await repository.registrants_seen(session, period_ids, [g.id for g in groups])
    registrants = await repository.registrants(session, period_ids)
    by_id = {g.id: g for g in groups}
    out = []
    for s in series:
        mine = [p for p in periods if p.series_id == s.id]
        mine_ids = {p.id for p in mine}
        series_groups = list({g.id: g for pid, g in pairs if pid in mine_ids}.values())
        out.append(
            SeriesMatrix(
                series_id=s.id,
                title=s.title,
                periods=[
                    PeriodMatrix(
                        period_id=p.id,
                        number=p.number,
                        title=p.title,
                        state=p.state,
                        registrants=registrants.get(p.id, 0),
                        groups=[_cell(g, seen, reach, period_id=p.id) for pid, g in pairs if pid == p.id],
                        seen_in=[
                            Reach(
                                community_id=g.id, name=by_id[g.id].name, registrants_seen=reach[(p.id, g.id)]
                            )
                            for g in series_groups
                            if reach.get((p.id, g.id))
                        ],
                    )
                    for p in mine
                ],
            )
        )
    return MatrixRead(series=out, unlinked=[_cell(g, seen, reach, period_id=None) for g in unlinked])
