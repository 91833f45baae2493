"""Staff API of service records (用户记录)."""

from __future__ import annotations

from fastapi import APIRouter

from shared.auth import CurrentStaff
from shared.fields import IdPath, MemberNoPath
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor
from tagging_service.deps import EDIT, READ, utcnow
from tagging_service.notes import repository, service
from tagging_service.notes.schemas import NoteCreate, NoteRead, NoteUpdate

admin_router = APIRouter(prefix="/admin/v1/members/{member_no}/notes", tags=["notes"])


@admin_router.get("", dependencies=[READ])
async def list_notes(member_no: MemberNoPath, session: SessionDep, page: PageDep) -> Page[NoteRead]:
    """A member's service records, newest first."""
    rows = await repository.page(session, member_no, before_id=cursor_int(page.cursor), limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[NoteRead.model_validate(n) for n in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@admin_router.post("", status_code=201, dependencies=[EDIT])
async def create_note(member_no: MemberNoPath, body: NoteCreate, staff: CurrentStaff, session: SessionDep) -> NoteRead:
    """Record a call, chat, reminder or note about a member."""
    note = await service.create(session, member_no=member_no, body=body, staff=staff, now=utcnow())
    return NoteRead.model_validate(note)


@admin_router.patch("/{note_id}", dependencies=[EDIT])
async def update_note(
    member_no: MemberNoPath, note_id: IdPath, body: NoteUpdate, staff: CurrentStaff, session: SessionDep
) -> NoteRead:
    """The author corrects a note within 24 hours."""
    note = await service.update(session, member_no=member_no, note_id=note_id, body=body, staff=staff, now=utcnow())
    return NoteRead.model_validate(note)
