"""Member APIs: the member's own profile, lookups for other services, and the console."""

from typing import Annotated

from fastapi import APIRouter, Query

from identity_service.deps import ContextDep, require_internal
from identity_service.followers.service import fetch_unionid
from identity_service.members import merging, queries, repository, service
from identity_service.members.errors import openid_not_found
from identity_service.members.schemas import (
    MemberDetail,
    MemberMergeCreate,
    MemberPage,
    MemberRead,
    MemberResolve,
    MemberResolveRead,
    MeRead,
    MergeCandidatePage,
    MergeCandidateRead,
)
from identity_service.phones import repository as phones_repository
from identity_service.sessions.service import ensure_active
from shared.auth import STAFF_ROLES, CurrentMember, StaffPrincipal, require_roles
from shared.errors import NotFound
from shared.fields import CLEAN_TEXT, IdPath, MemberNoPath, TextPath
from shared.routing import PageDep, SessionDep, cursor_int, encode_cursor

mp_router = APIRouter(prefix="/mp/v1/me", tags=["mini-program"], dependencies=[require_internal])
internal_router = APIRouter(prefix="/internal/members", tags=["internal"], dependencies=[require_internal])
admin_router = APIRouter(prefix="/admin/v1/members", tags=["members"], dependencies=[require_internal])

ReaderDep = Annotated[StaffPrincipal, require_roles(*STAFF_ROLES)]
AdminDep = Annotated[StaffPrincipal, require_roles("admin")]
ReviewerDep = Annotated[StaffPrincipal, require_roles("admin", "operator")]


# -- the member ---------------------------------------------------------------


@mp_router.get("")
async def get_me(member: CurrentMember, session: SessionDep) -> MeRead:
    """The member's own profile: number, apps, phone (masked), follow state."""
    await ensure_active(session, member)
    return await queries.me(session, await service.active_member(session, member.member_no))


# -- other services -----------------------------------------------------------


@internal_router.get("/by-openid/{openid}")
async def get_member_by_openid(
    openid: TextPath, session: SessionDep, appid: Annotated[str | None, Query(max_length=64), CLEAN_TEXT] = None
) -> MemberRead:
    """The member of an openid (optionally within one app)."""
    member = await service.member_of_openid(session, openid=openid, appid=appid)
    if member is None:
        raise openid_not_found()
    return await queries.member_read(session, member, requested=member.member_no)


@internal_router.post("/resolve-openid")
async def resolve_openid(body: MemberResolve, session: SessionDep, ctx: ContextDep) -> MemberResolveRead:
    """Find or create the member of an openid (a new service-account openid learns its UnionID first)."""
    app = ctx.apps.require(body.appid)
    if app.kind != body.app:
        raise NotFound(f"应用 {body.appid} 不是 {body.app}。", slug="unknown-appid", title="Unknown appid")
    unionid = None
    if (
        body.app == "oa"
        and await repository.openid_row(session, appid=body.appid, openid=body.openid) is None
    ):
        unionid = await fetch_unionid(ctx, appid=body.appid, openid=body.openid)
    resolution = await service.resolve_openid(
        session, app=body.app, appid=body.appid, openid=body.openid, unionid=unionid
    )
    read = await queries.member_read(session, resolution.member, requested=resolution.member.member_no)
    return MemberResolveRead(**read.model_dump(), created=resolution.created)


@internal_router.get("/{member_no}")
async def get_member(member_no: MemberNoPath, session: SessionDep) -> MemberRead:
    """A member by number; a retired number answers with its survivor."""
    member = await service.active_member(session, member_no)
    return await queries.member_read(session, member, requested=member_no)


# -- the console --------------------------------------------------------------


@admin_router.get("")
async def search_members(
    staff: ReaderDep,
    session: SessionDep,
    ctx: ContextDep,
    page: PageDep,
    phone: Annotated[str | None, Query(max_length=32), CLEAN_TEXT] = None,
    openid: Annotated[str | None, Query(max_length=128), CLEAN_TEXT] = None,
    unionid: Annotated[str | None, Query(max_length=128), CLEAN_TEXT] = None,
    q: Annotated[str | None, Query(max_length=128, description="number, phone, openid or UnionID"), CLEAN_TEXT] = None,
) -> MemberPage:
    """Find members by phone, openid, UnionID or free text; newest numbers first."""
    matches = await queries.matching_member_nos(session, ctx, phone=phone, openid=openid, q=q)
    if matches is not None and len(matches) > queries.MAX_SEARCH_MATCHES:
        matches = set(sorted(matches)[-queries.MAX_SEARCH_MATCHES :])
    rows = (
        []
        if matches is not None and not matches
        else await repository.page(
            session,
            limit=page.limit + 1,
            before=cursor_int(page.cursor, "before"),
            member_nos=sorted(matches) if matches is not None else None,
            unionid=unionid,
        )
    )
    items = await queries.summaries(session, ctx, rows[: page.limit], staff=staff)
    next_cursor = encode_cursor({"before": items[-1].member_no}) if len(rows) > page.limit else None
    return MemberPage(items=items, next_cursor=next_cursor)


@admin_router.get("/merge-candidates")
async def list_merge_candidates(_: ReaderDep, session: SessionDep, page: PageDep) -> MergeCandidatePage:
    """Open merge candidates (two members claiming one phone), oldest first."""
    rows = await phones_repository.open_conflicts(
        session, limit=page.limit + 1, after=cursor_int(page.cursor, "after")
    )
    items = [queries.candidate_read(row) for row in rows[: page.limit]]
    next_cursor = encode_cursor({"after": items[-1].id}) if len(rows) > page.limit else None
    return MergeCandidatePage(items=items, next_cursor=next_cursor)


@admin_router.post("/merge-candidates/{candidate_id}/dismiss")
async def dismiss_merge_candidate(
    candidate_id: IdPath, staff: ReviewerDep, session: SessionDep
) -> MergeCandidateRead:
    """Close a merge candidate as not the same person."""
    row = await phones_repository.get_conflict(session, candidate_id)
    if row is None:
        raise NotFound(
            "该合并候选不存在。", slug="merge-candidate-not-found", title="Merge candidate not found"
        )
    await phones_repository.resolve_conflicts(
        session, member_nos=[], status="dismissed", by=_actor(staff), conflict_id=candidate_id
    )
    await session.refresh(row)
    return queries.candidate_read(row)


@admin_router.get("/{member_no}")
async def get_member_detail(
    member_no: MemberNoPath, staff: ReaderDep, session: SessionDep, ctx: ContextDep
) -> MemberDetail:
    """A member with apps, follow state, phones (full for admins) and merge history."""
    member = await service.active_member(session, member_no)
    return await queries.detail(session, ctx, member, requested=member_no, staff=staff)


@admin_router.post("/{member_no}/merge")
async def merge_members(
    member_no: MemberNoPath, body: MemberMergeCreate, admin: AdminDep, session: SessionDep, ctx: ContextDep
) -> MemberDetail:
    """Merge two members who are one person; the older number survives."""
    first = await service.active_member(session, member_no)
    second = await service.active_member(session, body.other_member_no)
    survivor = await merging.merge(
        session,
        first.member_no,
        second.member_no,
        reason="staff",
        actor=_actor(admin),
        note=body.note,
    )
    return await queries.detail(session, ctx, survivor, requested=member_no, staff=admin)


def _actor(staff: StaffPrincipal) -> str:
    return f"staff:{staff.staff_id}:{staff.username}"
