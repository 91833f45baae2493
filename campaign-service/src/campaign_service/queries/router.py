"""Endpoints of the read models that combine several aggregates."""

from __future__ import annotations

from fastapi import APIRouter

from campaign_service.channels import repository as channels
from campaign_service.channels.router import require_channel
from campaign_service.channels.schemas import ChannelStats
from campaign_service.deps import ClockDep
from campaign_service.queries.channels import channel_stats
from campaign_service.queries.registrations import member_registrations
from campaign_service.registrations.schemas import MyRegistration
from shared.auth import CurrentMember, require_roles
from shared.fields import IdPath
from shared.routing import Page, PageDep, SessionDep, decode_cursor, encode_cursor

mp_router = APIRouter(prefix="/mp/v1", tags=["registrations"])
# Included before channels' own router: ``/channels/stats`` must not reach ``/channels/{channel_id}``.
admin_router = APIRouter(prefix="/admin/v1", tags=["channels"])

READ = require_roles("admin", "operator", "sales", "viewer")


@mp_router.get("/me/registrations")
async def my_registrations(member: CurrentMember, session: SessionDep, clock: ClockDep) -> list[MyRegistration]:
    """My periods with their check-in calendar, current rate and the refund it would earn now."""
    return await member_registrations(session, member.member_no, clock.now())


@admin_router.get("/channels/stats", dependencies=[READ])
async def all_channel_stats(session: SessionDep, page: PageDep) -> Page[ChannelStats]:
    """Traffic precision per channel: scans, follows, members, registrations, payments."""
    cursor = decode_cursor(page.cursor)
    rows = await channels.page(session, after_id=cursor and int(cursor["id"]), limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=await channel_stats(session, rows),
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@admin_router.get("/channels/{channel_id}/stats", dependencies=[READ])
async def one_channel_stats(channel_id: IdPath, session: SessionDep) -> ChannelStats:
    """What one channel brought."""
    return (await channel_stats(session, [await require_channel(session, channel_id)]))[0]
