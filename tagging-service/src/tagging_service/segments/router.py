"""Staff API of segments (人群圈选), and the internal member list for messaging."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pyroaring import BitMap64
from sqlalchemy import select

from shared.auth import CurrentStaff, InternalCallerDep
from shared.errors import Invalid, PayloadTooLarge
from shared.fields import IdPath
from shared.routing import MAX_PAGE_SIZE, Page, PageDep, SessionDep, cursor_int, decode_cursor, encode_cursor
from shared.sealing import Sealer
from tagging_service.deps import EDIT, READ, RuntimeDep, settings_of, utcnow
from tagging_service.facts.members import ensure_members
from tagging_service.facts.models import MemberFact
from tagging_service.segments import export, repository, service
from tagging_service.segments.language import parse_rank
from tagging_service.segments.schemas import (
    InternalMembers,
    RankedMember,
    SegmentCreate,
    SegmentMembers,
    SegmentPreview,
    SegmentRead,
)
from tagging_service.tags import imports
from tagging_service.tags import repository as tags_repo
from tagging_service.tags.schemas import ImportResult, ImportRowError

admin_router = APIRouter(prefix="/admin/v1/segments", tags=["segments"])
internal_router = APIRouter(prefix="/internal/segments", tags=["internal"])

CursorQuery = Annotated[str | None, Query(max_length=200, description="Cursor from the previous page")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def _engine(runtime: Any) -> service.SegmentEngine:
    engine: service.SegmentEngine = runtime.extras["segments"]
    return engine


def _offset(cursor: str | None) -> int:
    decoded = decode_cursor(cursor)
    if decoded is None:
        return 0
    offset = decoded.get("o")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 or offset > 10**9:
        raise Invalid("分页游标无效。", slug="invalid-cursor")
    return offset


async def _members_and_rank(session: SessionDep, runtime: Any, segment_id: int) -> tuple[BitMap64, Any]:
    segment = await service.require(session, segment_id)
    engine = _engine(runtime)
    members = await engine.segment_members(session, segment.id)
    try:
        rank = parse_rank(segment.rank)
    except Exception:
        rank = None
    return members, rank


def _members_json(count: int, page: list[RankedMember], next_cursor: str | None) -> Response:
    """A ``SegmentMembers`` answer serialised by orjson straight from the page (no response-model pass)."""
    return Response(orjson.dumps({
        "count": count, "members": [{"member_no": m.member_no, "rank_value": m.rank_value} for m in page],
        "next_cursor": next_cursor,
    }), media_type="application/json")


@admin_router.post("/preview", dependencies=[READ], response_model=SegmentMembers)
async def preview(body: SegmentPreview, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Count a definition and show its first page, ranked if asked (nothing is saved)."""
    engine = _engine(runtime)
    t0 = time.perf_counter()
    node, rank = await service.validate(session, body.definition, body.rank, live_tags=engine.live_tags)
    t1 = time.perf_counter()
    members = await engine.members(session, node)
    t2 = time.perf_counter()
    page = await engine.ranked_page(session, members, rank, offset=0, limit=body.limit)
    t3 = time.perf_counter()
    more = len(members) > body.limit
    response = _members_json(len(members), page, encode_cursor({"o": body.limit}) if more else None)
    # Where a preview's time goes inside the service (bench/segments reads it; browsers show it).
    response.headers["server-timing"] = (
        f"validate;dur={(t1 - t0) * 1000:.2f}, evaluate;dur={(t2 - t1) * 1000:.2f}, "
        f"page;dur={(t3 - t2) * 1000:.2f}, json;dur={(time.perf_counter() - t3) * 1000:.2f}"
    )
    return response


@admin_router.get("", dependencies=[READ])
async def list_segments(session: SessionDep, runtime: RuntimeDep, page: PageDep) -> Page[SegmentRead]:
    """Saved segments by id, with their current sizes."""
    rows = await repository.page(session, after_id=cursor_int(page.cursor), limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    engine = _engine(runtime)
    items = []
    for segment in rows:
        try:
            count = len(await engine.segment_members(session, segment.id))
        except Invalid:
            count = 0
        items.append(service.read_of(segment, count))
    return Page(items=items, next_cursor=encode_cursor({"id": rows[-1].id}) if more else None)


@admin_router.post("", status_code=201, dependencies=[EDIT])
async def create_segment(body: SegmentCreate, staff: CurrentStaff, session: SessionDep,
                         runtime: RuntimeDep) -> SegmentRead:
    """Save a segment; every tag and segment it names must exist."""
    segment, node = await service.create(session, body, staff_id=staff.staff_id)
    return service.read_of(segment, len(await _engine(runtime).members(session, node, (segment.id,))))


@admin_router.get("/{segment_id}", dependencies=[READ])
async def get_segment(segment_id: IdPath, session: SessionDep, runtime: RuntimeDep) -> SegmentRead:
    """One saved segment and its current size."""
    segment = await service.require(session, segment_id)
    return service.read_of(segment, len(await _engine(runtime).segment_members(session, segment.id)))


@admin_router.put("/{segment_id}", dependencies=[EDIT])
async def replace_segment(segment_id: IdPath, body: SegmentCreate, session: SessionDep,
                          runtime: RuntimeDep) -> SegmentRead:
    """Replace a segment's definition (cycles between segments are refused)."""
    segment = await service.replace(session, await service.require(session, segment_id), body, now=utcnow())
    return service.read_of(segment, len(await _engine(runtime).segment_members(session, segment.id)))


@admin_router.delete("/{segment_id}", status_code=204, dependencies=[EDIT])
async def delete_segment(segment_id: IdPath, session: SessionDep) -> Response:
    """Delete a segment no other segment uses."""
    await service.delete(session, await service.require(session, segment_id))
    return Response(status_code=204)


@admin_router.post("/{segment_id}/freeze", dependencies=[EDIT])
async def freeze_segment(segment_id: IdPath, session: SessionDep, runtime: RuntimeDep) -> SegmentRead:
    """Snapshot a segment's current members into a static list."""
    members, _ = await _members_and_rank(session, runtime, segment_id)
    segment = await service.require(session, segment_id)
    segment.kind, segment.frozen, segment.frozen_at = "static", members.serialize(), utcnow()
    await session.flush()
    return service.read_of(segment, len(members))


@admin_router.post(
    "/{segment_id}/import", dependencies=[EDIT],
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_segment(
    segment_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
    dry_run: Annotated[bool, Query(description="report only, change nothing")] = True,
) -> ImportResult:
    """Make a segment a static list of the member numbers of a CSV file (UTF-8 ± BOM or GBK)."""
    segment = await service.require(session, segment_id)
    limit = settings_of(runtime).import_max_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLarge(f"文件超过 {limit // 1024} KB 上限。", slug="csv-too-large")
    parsed = imports.parse(raw)
    if not dry_run:
        if parsed.errors:
            raise Invalid(
                "文件中有无效的行，未做任何修改；请修正后重新导入。", slug="csv-row-errors",
                errors=[{"field": f"row {e['row']}", "message": str(e["message"]), "code": "invalid_row"}
                        for e in parsed.errors[:200]],
            )
        await ensure_members(session, parsed.member_nos)
        segment.kind, segment.frozen = "static", BitMap64(parsed.member_nos).serialize()
        segment.frozen_at = utcnow()
        await session.flush()
    return ImportResult(
        dry_run=dry_run, encoding=parsed.encoding, rows=parsed.rows, valid=len(parsed.member_nos), already=0,
        applied=0 if dry_run else len(parsed.member_nos), preview=parsed.member_nos[:20],
        errors=[ImportRowError(row=int(str(e["row"])), value=str(e["value"]), message=str(e["message"]))
                for e in parsed.errors[:200]],
    )


@admin_router.get("/{segment_id}/members", dependencies=[READ], response_model=SegmentMembers)
async def segment_members(segment_id: IdPath, session: SessionDep, runtime: RuntimeDep,
                          cursor: CursorQuery = None, limit: LimitQuery = 50) -> Response:
    """A page of a segment's members in rank order."""
    offset = _offset(cursor)
    members, rank = await _members_and_rank(session, runtime, segment_id)
    page = await _engine(runtime).ranked_page(session, members, rank, offset=offset, limit=limit)
    more = offset + limit < len(members)
    return _members_json(len(members), page, encode_cursor({"o": offset + limit}) if more else None)


@admin_router.get(
    "/{segment_id}/export.csv", dependencies=[READ], response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "UTF-8 CSV with BOM"}},
)
async def export_segment(segment_id: IdPath, session: SessionDep, runtime: RuntimeDep,
                         staff: CurrentStaff) -> StreamingResponse:
    """The ranked member list as CSV: member number, phone (full for roles that may see it), tags, rank value."""
    members, rank = await _members_and_rank(session, runtime, segment_id)
    rows = await _engine(runtime).ranked_all(session, members, rank)
    numbers = [m for m, _ in rows]
    full = staff.has_any(*settings_of(runtime).staff_phone_roles)
    sealer = Sealer(settings_of(runtime).verification_keys()) if full else None
    tags: dict[int, list[str]] = {}
    phones: dict[int, str | None] = {}
    for start in range(0, len(numbers), 5000):
        chunk = numbers[start:start + 5000]
        tags.update(await tags_repo.tag_names_of(session, chunk))
        found = await session.execute(
            select(MemberFact.member_no, MemberFact.phone_masked, MemberFact.phone_sealed)
            .where(MemberFact.member_no.in_(chunk))
        )
        for member_no, masked, sealed in found:
            opened = sealer.open(sealed, context="phone") if sealer is not None and sealed else None
            phones[member_no] = export.dialable(opened) if opened else masked

    async def body() -> AsyncIterator[bytes]:
        for chunk in export.csv_chunks((m, phones.get(m), tags.get(m, []), v) for m, v in rows):
            yield chunk

    return StreamingResponse(
        body(), media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="segment-{segment_id}.csv"'},
    )


@internal_router.get("/{segment_id}/members")
async def internal_members(segment_id: IdPath, caller: InternalCallerDep, session: SessionDep,
                           runtime: RuntimeDep, cursor: CursorQuery = None,
                           limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> InternalMembers:
    """Member numbers of a segment, ascending, a page at a time (for broadcasts)."""
    after = cursor_int(cursor, "after")
    members = await _engine(runtime).segment_members(session, segment_id)
    start = members.rank(after) if after is not None else 0
    page = [members[i] for i in range(start, min(start + limit, len(members)))]
    more = start + limit < len(members)
    return InternalMembers(members=page, next_cursor=encode_cursor({"after": page[-1]}) if more else None)
