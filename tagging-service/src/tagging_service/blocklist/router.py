"""Staff API of the blocklist: members barred from registering for new campaigns."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shared.auth import CurrentStaff
from shared.fields import MemberNoPath
from shared.routing import SessionDep
from tagging_service.blocklist import service
from tagging_service.blocklist.schemas import BlockCreate, BlockRead
from tagging_service.deps import EDIT, READ, utcnow

admin_router = APIRouter(prefix="/admin/v1/blocklist", tags=["blocklist"])


@admin_router.put("/{member_no}", dependencies=[EDIT])
async def block(member_no: MemberNoPath, body: BlockCreate, staff: CurrentStaff, session: SessionDep) -> BlockRead:
    """Bar a member from registering; campaign applies it from ``tagging.member.blocked``."""
    return await service.block(session, member_no=member_no, reason=body.reason, staff_id=staff.staff_id,
                               now=utcnow())


@admin_router.delete("/{member_no}", status_code=204, dependencies=[EDIT])
async def unblock(member_no: MemberNoPath, staff: CurrentStaff, session: SessionDep) -> Response:
    """Let a member register again."""
    await service.unblock(session, member_no=member_no, staff_id=staff.staff_id, now=utcnow())
    return Response(status_code=204)


@admin_router.get("/{member_no}", dependencies=[READ])
async def is_blocked(member_no: MemberNoPath, session: SessionDep) -> BlockRead:
    """Whether the member is on the blocklist, and why."""
    return await service.status(session, member_no)
