"""Group sightings from the mini-program; staff name and link groups and read the matrix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from campaign_service.communities import repository, service
from campaign_service.communities.schemas import (
    CommunityLinkCreate,
    CommunityMemberRead,
    CommunityRead,
    CommunityUpdate,
    MatrixRead,
    SightingCreate,
    SightingRead,
)
from campaign_service.deps import ClockDep, MembersDep
from shared.auth import CurrentMember, require_roles
from shared.errors import Conflict
from shared.fields import BIGINT_MAX, IdPath
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor

mp_router = APIRouter(prefix="/mp/v1/group-sightings", tags=["communities"])
admin_router = APIRouter(prefix="/admin/v1/communities", tags=["communities"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


@mp_router.post("", status_code=201)
async def group_sighting(
    body: SightingCreate, member: CurrentMember, session: SessionDep, members: MembersDep, clock: ClockDep
) -> SightingRead:
    """I opened a card shared in a group: record that I was seen there now."""
    return await service.record_sighting(
        session, member_no=member.member_no, body=body, members=members, now=clock.now()
    )


@admin_router.get("", dependencies=[READ])
async def list_communities(
    session: SessionDep,
    page: PageDep,
    period_id: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="only groups linked to this period")
    ] = None,
    unlinked: Annotated[bool, Query(description="only groups not linked to a period")] = False,
) -> Page[CommunityRead]:
    """Groups by id, with the number of members seen in each."""
    after = cursor_int(page.cursor, "id")
    rows = await repository.page(
        session,
        period_id=period_id,
        unlinked=unlinked,
        after_id=after,
        limit=page.limit + 1,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    seen = await repository.members_seen(session, [c.id for c in rows])
    items = []
    for c in rows:
        read = CommunityRead.model_validate(c)
        read.members_seen = seen.get(c.id, 0)
        items.append(read)
    return Page(items=items, next_cursor=encode_cursor({"id": rows[-1].id}) if more else None)


@admin_router.get("/matrix", dependencies=[READ])
async def community_matrix(
    session: SessionDep,
    series_id: Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="one series only")] = None,
) -> MatrixRead:
    """The community matrix: series → periods → groups, members seen, registrants seen, last activity."""
    return await service.matrix(session, series_id=series_id)


@admin_router.get("/{community_id}", dependencies=[READ])
async def get_community(community_id: IdPath, session: SessionDep) -> CommunityRead:
    """One group."""
    return await service.read_of(session, await service.require(session, community_id))


@admin_router.patch("/{community_id}", dependencies=[EDIT])
async def update_community(
    community_id: IdPath, body: CommunityUpdate, session: SessionDep, clock: ClockDep
) -> CommunityRead:
    """Name a group (e.g. "X1 group A") and link it to one more period, or end its links."""
    community = await service.require(session, community_id, lock=True)
    await service.update(session, community, body, clock.now())
    return await service.read_of(session, community)


@admin_router.post("/{community_id}/periods", status_code=201, dependencies=[EDIT])
async def link_period(
    community_id: IdPath, body: CommunityLinkCreate, session: SessionDep, clock: ClockDep
) -> CommunityRead:
    """Link the group to one more period (its other links stay): a group carrying on from X1 into X2."""
    community = await service.require(session, community_id, lock=True)
    await service.link(session, community, body.period_id, clock.now())
    return await service.read_of(session, community)


@admin_router.delete("/{community_id}/periods/{period_id}", dependencies=[EDIT])
async def unlink_period(
    community_id: IdPath, period_id: IdPath, session: SessionDep, clock: ClockDep
) -> CommunityRead:
    """End the group's link to a period; sightings made while linked keep counting for it."""
    community = await service.require(session, community_id, lock=True)
    await service.unlink(session, community, period_id, clock.now())
    return await service.read_of(session, community)


@admin_router.post("/{community_id}/accept-proposal", dependencies=[EDIT])
async def accept_proposal(community_id: IdPath, session: SessionDep, clock: ClockDep) -> CommunityRead:
    """Link the group to the period its share cards proposed."""
    community = await service.require(session, community_id, lock=True)
    if community.proposed_period_id is None:
        raise Conflict("没有待确认的活动期。", slug="no-proposal", title="No proposed period")
    await service.link(session, community, community.proposed_period_id, clock.now())
    await session.flush()
    return await service.read_of(session, community)


@admin_router.get("/{community_id}/members", dependencies=[READ])
async def community_members(
    community_id: IdPath, session: SessionDep, page: PageDep
) -> Page[CommunityMemberRead]:
    """Members seen in a group, by member number, marked when registered for its period."""
    community = await service.require(session, community_id)
    after = cursor_int(page.cursor, "no")
    rows = await repository.members_page(
        session, community_id, after=after, limit=page.limit + 1
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    registered = (
        await repository.registered_among(session, community.period_id, [m.member_no for m in rows])
        if community.period_id
        else set()
    )
    items = []
    for m in rows:
        read = CommunityMemberRead.model_validate(m)
        read.in_period = m.member_no in registered
        items.append(read)
    return Page(items=items, next_cursor=encode_cursor({"no": rows[-1].member_no}) if more else None)
