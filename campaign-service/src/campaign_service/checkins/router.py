"""Check-ins: members post them, staff review and void them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from campaign_service.checkins import repository, service
from campaign_service.checkins.schemas import CheckinCreate, CheckinRead, CheckinVoid
from campaign_service.deps import ClockDep
from campaign_service.periods import service as periods
from shared.auth import CurrentMember, CurrentStaff, require_roles
from shared.fields import IdPath
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor

mp_router = APIRouter(prefix="/mp/v1/periods", tags=["check-ins"])
admin_router = APIRouter(prefix="/admin/v1", tags=["check-ins"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


@mp_router.post("/{period_id}/checkins", status_code=201)
async def check_in(
    period_id: IdPath,
    body: CheckinCreate,
    member: CurrentMember,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> CheckinRead:
    """Check in for today (a retry today returns the same check-in with 200)."""
    period = await periods.require_period(session, period_id)
    checkin, created = await service.check_in(
        session, period=period, member_no=member.member_no, body=body, now=clock.now()
    )
    if not created:
        response.status_code = 200
    return CheckinRead.model_validate(checkin)


@admin_router.get("/periods/{period_id}/checkins", dependencies=[READ])
async def list_checkins(period_id: IdPath, session: SessionDep, page: PageDep) -> Page[CheckinRead]:
    """A period's check-ins by id."""
    await periods.require_period(session, period_id)
    after = cursor_int(page.cursor, "id")
    rows = await repository.of_period(
        session, period_id, after_id=after, limit=page.limit + 1
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[CheckinRead.model_validate(c) for c in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@admin_router.post("/periods/{period_id}/checkins/{checkin_id}/void", dependencies=[EDIT])
async def void_checkin(
    period_id: IdPath,
    checkin_id: IdPath,
    body: CheckinVoid,
    staff: CurrentStaff,
    session: SessionDep,
    clock: ClockDep,
) -> CheckinRead:
    """Void a check-in with a reason (recorded and published)."""
    checkin = await service.void(
        session,
        period_id=period_id,
        checkin_id=checkin_id,
        reason=body.reason,
        staff_id=staff.staff_id,
        now=clock.now(),
    )
    return CheckinRead.model_validate(checkin)
