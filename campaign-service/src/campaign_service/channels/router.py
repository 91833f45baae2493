"""Staff API of channels: create one (with its QR and mini-program codes), list, the code image (stats: queries/)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from campaign_service.channels import repository, service
from campaign_service.channels.models import Channel
from campaign_service.channels.schemas import ChannelCreate, ChannelRead
from campaign_service.deps import ChannelCodesDep, ClockDep
from shared.auth import CurrentStaff, require_roles
from shared.errors import NotFound
from shared.fields import IdPath
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor

admin_router = APIRouter(prefix="/admin/v1/channels", tags=["channels"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


async def require_channel(session: SessionDep, channel_id: IdPath) -> Channel:
    channel = await repository.get(session, channel_id)
    if channel is None:
        raise NotFound("渠道不存在。", slug="channel-not-found", title="Channel not found")
    return channel


@admin_router.post("", status_code=201, dependencies=[EDIT])
async def create_channel(
    body: ChannelCreate, staff: CurrentStaff, session: SessionDep, codes: ChannelCodesDep, clock: ClockDep
) -> ChannelRead:
    """Create a channel: a service-account scene QR code and a mini-program code for its scene."""
    channel = await service.create_channel(
        session, body, codes=codes, staff_id=staff.staff_id, now=clock.now()
    )
    return service.read_of(channel, clock.now())


@admin_router.get("", dependencies=[READ])
async def list_channels(session: SessionDep, page: PageDep, clock: ClockDep) -> Page[ChannelRead]:
    """Channels by id, a page at a time."""
    after = cursor_int(page.cursor, "id")
    rows = await repository.page(session, after_id=after, limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[service.read_of(c, clock.now()) for c in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@admin_router.get("/{channel_id}", dependencies=[READ])
async def get_channel(channel_id: IdPath, session: SessionDep, clock: ClockDep) -> ChannelRead:
    """One channel."""
    return service.read_of(await require_channel(session, channel_id), clock.now())


@admin_router.get(
    "/{channel_id}/wxacode.png",
    dependencies=[READ],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def channel_wxacode(channel_id: IdPath, session: SessionDep) -> Response:
    """The channel's mini-program code image."""
    await require_channel(session, channel_id)
    png = await repository.wxacode(session, channel_id)
    if not png:
        raise NotFound("该渠道没有小程序码。", slug="wxacode-missing", title="No mini-program code")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
