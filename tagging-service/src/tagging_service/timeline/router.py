"""Staff API of a member's timeline."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter

from shared.fields import MemberNoPath
from shared.routing import Page, PageDep, SessionDep, decode_cursor, encode_cursor
from tagging_service.deps import READ, RuntimeDep, settings_of
from tagging_service.timeline import service
from tagging_service.timeline.schemas import TimelineItem

admin_router = APIRouter(prefix="/admin/v1/members/{member_no}/timeline", tags=["timeline"])


@admin_router.get("", dependencies=[READ])
async def timeline(member_no: MemberNoPath, session: SessionDep, page: PageDep,
                   runtime: RuntimeDep) -> Page[TimelineItem]:
    """Registrations, payments, check-ins, refunds, follows, group sightings, tags, notes and daily activity."""
    before = service.parse_cursor(decode_cursor(page.cursor))
    items, last = await service.page(session, member_no, before=before, limit=page.limit,
                                     tz=ZoneInfo(settings_of(runtime).timezone))
    return Page(items=items, next_cursor=encode_cursor(service.cursor_of(last)) if last else None)
