"""Staff API of tag groups, tags and member tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from shared.auth import CurrentStaff
from shared.errors import Invalid, PayloadTooLarge
from shared.fields import IdPath, IdQuery, MemberNoPath, TextQuery
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor
from tagging_service.deps import EDIT, READ, IndexDep, RuntimeDep, settings_of, utcnow
from tagging_service.tags import errors, imports, repository, service
from tagging_service.tags.schemas import (
    BulkTagCreate,
    BulkTagResult,
    ImportResult,
    ImportRowError,
    MemberTagCreate,
    MemberTagRead,
    MemberTagsRead,
    TagCreate,
    TagGroupCreate,
    TagGroupRead,
    TagRead,
    TagUpdate,
)

groups_router = APIRouter(prefix="/admin/v1/tag-groups", tags=["tags"])
tags_router = APIRouter(prefix="/admin/v1/tags", tags=["tags"])
member_tags_router = APIRouter(prefix="/admin/v1/members/{member_no}/tags", tags=["tags"])


def index_of(runtime: RuntimeDep) -> Any:
    """The process's bitmap index."""
    return runtime.extras["index"]


@groups_router.get("", dependencies=[READ])
async def list_groups(session: SessionDep) -> list[TagGroupRead]:
    """Every tag group."""
    return [TagGroupRead.model_validate(g) for g in await repository.groups(session)]


@groups_router.post("", status_code=201, dependencies=[EDIT])
async def create_group(body: TagGroupCreate, session: SessionDep) -> TagGroupRead:
    """Create a tag group (names are unique)."""
    return TagGroupRead.model_validate(await service.create_group(session, body))


@tags_router.get("", dependencies=[READ])
async def list_tags(
    session: SessionDep, index: IndexDep, page: PageDep, group_id: IdQuery = None, q: TextQuery = None
) -> Page[TagRead]:
    """Live tags by id, with how many members carry each now."""
    rows = await repository.list_tags(
        session, group_id=group_id, q=q, after_id=cursor_int(page.cursor), limit=page.limit + 1
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[service.tag_read(t, index.tag_count(t.id)) for t in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@tags_router.post("", status_code=201, dependencies=[EDIT])
async def create_tag(body: TagCreate, session: SessionDep) -> TagRead:
    """Create a manual or rule tag in a group."""
    return service.tag_read(await service.create_tag(session, body), 0)


@tags_router.get("/{tag_id}", dependencies=[READ])
async def get_tag(tag_id: IdPath, session: SessionDep, index: IndexDep) -> TagRead:
    """One tag."""
    tag = await service.require_tag(session, tag_id)
    return service.tag_read(tag, index.tag_count(tag.id))


@tags_router.patch("/{tag_id}", dependencies=[EDIT])
async def update_tag(tag_id: IdPath, body: TagUpdate, session: SessionDep, index: IndexDep) -> TagRead:
    """Rename, recolour, describe or move a tag."""
    tag = await service.update_tag(session, await service.require_tag(session, tag_id), body)
    return service.tag_read(tag, index.tag_count(tag.id))


@tags_router.delete("/{tag_id}", status_code=204, dependencies=[EDIT])
async def delete_tag(tag_id: IdPath, staff: CurrentStaff, session: SessionDep) -> Response:
    """Retire a tag; its members lose it (kept in their history)."""
    tag = await service.require_tag(session, tag_id)
    await service.delete_tag(session, tag, staff_id=staff.staff_id, now=utcnow())
    return Response(status_code=204)


@tags_router.post("/{tag_id}/members", dependencies=[EDIT])
async def bulk_apply(
    tag_id: IdPath, body: BulkTagCreate, staff: CurrentStaff, session: SessionDep, runtime: RuntimeDep
) -> BulkTagResult:
    """Attach a tag to listed member numbers or to a saved segment's members."""
    tag = await service.require_tag(session, tag_id)
    if tag.kind == "system":
        raise errors.system_tag()
    if body.segment_id is not None:
        members = await runtime.extras["segment_members"](session, body.segment_id)
    else:
        members = body.member_nos or []
    total = len(set(members))
    applied = await service.apply_many(
        session, tag=tag, member_nos=members, source="staff", source_id=staff.staff_id, now=utcnow(),
        expires_at=body.expires_at, reason=body.reason,
    )
    return BulkTagResult(tag_id=tag.id, total=total, applied=applied, already=total - applied)


@tags_router.post(
    "/{tag_id}/members/import", dependencies=[EDIT],
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_members(
    tag_id: IdPath, request: Request, staff: CurrentStaff, session: SessionDep, runtime: RuntimeDep,
    dry_run: Annotated[bool, Query(description="report only, change nothing")] = True,
) -> ImportResult:
    """Attach a tag to the member numbers of a CSV file (UTF-8 with or without BOM, or GBK)."""
    tag = await service.require_tag(session, tag_id)
    if tag.kind == "system":
        raise errors.system_tag()
    limit = settings_of(runtime).import_max_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLarge(f"文件超过 {limit // 1024} KB 上限。", slug="csv-too-large")
    parsed = imports.parse(raw)
    holders = index_of(runtime).tag(tag.id)
    already = sum(1 for m in parsed.member_nos if m in holders)
    applied = 0
    if not dry_run:
        if parsed.errors:
            raise Invalid(
                "文件中有无效的行，未做任何修改；请修正后重新导入。", slug="csv-row-errors",
                errors=[{"field": f"row {e['row']}", "message": str(e["message"]), "code": "invalid_row"}
                        for e in parsed.errors[:200]],
            )
        applied = await service.apply_many(session, tag=tag, member_nos=parsed.member_nos, source="import",
                                           source_id=staff.staff_id, now=utcnow())
        already = len(parsed.member_nos) - applied
    return ImportResult(
        dry_run=dry_run, encoding=parsed.encoding, rows=parsed.rows, valid=len(parsed.member_nos), already=already,
        applied=applied, preview=parsed.member_nos[:20],
        errors=[ImportRowError(row=int(str(e["row"])), value=str(e["value"]), message=str(e["message"]))
                for e in parsed.errors[:200]],
    )


@member_tags_router.get("", dependencies=[READ])
async def member_tags(
    member_no: MemberNoPath, session: SessionDep,
    history: Annotated[bool, Query(description="include the most recent removals")] = True,
) -> MemberTagsRead:
    """A member's current tags (with source and evidence) and, by default, recent removals."""
    current = [service.member_tag_read(r, t) for r, t in await repository.member_tags(session, member_no)]
    removed = (
        [service.history_read(r, t) for r, t in await repository.history(session, member_no)] if history else []
    )
    return MemberTagsRead(member_no=member_no, items=current, history=removed)


@member_tags_router.post("", status_code=201, dependencies=[EDIT])
async def tag_member(
    member_no: MemberNoPath, body: MemberTagCreate, staff: CurrentStaff, session: SessionDep
) -> MemberTagRead:
    """Attach a tag to a member (again: refreshes its expiry)."""
    tag = await service.require_tag(session, body.tag_id)
    if tag.kind == "system":
        raise errors.system_tag()
    row, _ = await service.apply(
        session, tag=tag, member_no=member_no, source="staff", source_id=staff.staff_id, now=utcnow(),
        expires_at=body.expires_at, reason=body.reason,
    )
    return service.member_tag_read(row, tag)


@member_tags_router.delete("/{tag_id}", status_code=204, dependencies=[EDIT])
async def untag_member(member_no: MemberNoPath, tag_id: IdPath, staff: CurrentStaff, session: SessionDep) -> Response:
    """Take a tag off a member (kept in the history)."""
    tag = await service.require_tag(session, tag_id)
    if tag.kind == "system":
        raise errors.system_tag()
    removed = await service.remove(
        session, tag=tag, member_nos=[member_no], removed_by="staff", removed_by_id=staff.staff_id, now=utcnow()
    )
    if not removed:
        raise errors.member_tag_not_found()
    return Response(status_code=204)
