"""The member's invite code; staff see who brought whom."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from campaign_service.deps import InviteKeysDep
from campaign_service.referrals import repository
from campaign_service.referrals.codes import invite_code
from campaign_service.referrals.schemas import InviteRead, InviterRead, ReferralRead
from shared.auth import CurrentMember, require_roles
from shared.fields import BIGINT_MAX
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor

mp_router = APIRouter(prefix="/mp/v1/me/invite", tags=["referrals"])
admin_router = APIRouter(prefix="/admin/v1/referrals", tags=["referrals"])

READ = require_roles("admin", "operator", "sales", "viewer")


@mp_router.get("")
async def my_invite(member: CurrentMember, session: SessionDep, keys: InviteKeysDep) -> InviteRead:
    """My invite code (pass it as ``invite_code`` when a friend registers) and what it brought."""
    counts = await repository.counts_of(session, member.member_no)
    return InviteRead(
        member_no=member.member_no,
        code=invite_code(member.member_no, keys[0]),
        credited=counts.get("credited", 0),
        pending=counts.get("pending", 0),
    )


@admin_router.get("", dependencies=[READ])
async def list_referrals(
    session: SessionDep,
    page: PageDep,
    inviter: Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="only this inviter's invitees")] = None,
    invitee: Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="only this invitee")] = None,
) -> Page[ReferralRead]:
    """Who brought whom, by invitee number."""
    after = cursor_int(page.cursor, "no")
    rows = await repository.page(
        session, inviter=inviter, invitee=invitee, after=after, limit=page.limit + 1
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[ReferralRead.model_validate(r) for r in rows],
        next_cursor=encode_cursor({"no": rows[-1].invitee_member_no}) if more else None,
    )


@admin_router.get("/inviters", dependencies=[READ])
async def top_inviters(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[InviterRead]:
    """Inviters ranked by the people they brought (credited first)."""
    return [
        InviterRead(inviter_member_no=a, credited=b, pending=c)
        for a, b, c in await repository.top_inviters(session, limit=limit)
    ]
