"""Staff block and unblock members from registering.

The endpoint only publishes tagging's contract events (through this
service's outbox); the local projection is updated by the same consumer that
handles tagging-service's own events, so both paths behave alike.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from campaign_service.blocklist.models import BlockedMember
from campaign_service.registrations.schemas import BlockCreate
from shared.auth import CurrentStaff, require_roles
from shared.contracts.tagging import MemberBlocked, MemberUnblocked
from shared.events.outbox import emit
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/blocklist", tags=["blocklist"])
EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


@admin_router.put("/{member_no}", status_code=202, dependencies=[EDIT])
async def block(member_no: int, body: BlockCreate, staff: CurrentStaff, session: SessionDep) -> Response:
    """Bar a member from registering (applied when the event comes back through the broker)."""
    await emit(
        session,
        MemberBlocked(member_no=member_no, reason=body.reason, by_staff_id=staff.staff_id),
        member_no=member_no,
    )
    return Response(status_code=202)


@admin_router.delete("/{member_no}", status_code=202, dependencies=[EDIT])
async def unblock(member_no: int, staff: CurrentStaff, session: SessionDep) -> Response:
    """Let a member register again."""
    await emit(session, MemberUnblocked(member_no=member_no, by_staff_id=staff.staff_id), member_no=member_no)
    return Response(status_code=202)


@admin_router.get("/{member_no}", dependencies=[READ])
async def is_blocked(member_no: int, session: SessionDep) -> dict[str, object]:
    """Whether this service currently bars the member."""
    row = await session.get(BlockedMember, member_no)
    return {"member_no": member_no, "blocked": row is not None, "reason": row.reason if row else None}
