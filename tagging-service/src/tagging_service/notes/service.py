"""Service records: several staff serve one member; each contact is recorded against them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import StaffPrincipal
from tagging_service.notes import errors, repository
from tagging_service.notes.models import ServiceNote
from tagging_service.notes.schemas import NoteCreate, NoteUpdate

EDIT_WINDOW = timedelta(hours=24)


async def create(
    session: AsyncSession, *, member_no: int, body: NoteCreate, staff: StaffPrincipal, now: datetime
) -> ServiceNote:
    """Record a note by ``staff``."""
    note = ServiceNote(member_no=member_no, kind=body.kind, text=body.text, author_staff_id=staff.staff_id,
                       author_name=staff.username, created_at=now)
    session.add(note)
    await session.flush()
    return note


async def update(
    session: AsyncSession, *, member_no: int, note_id: int, body: NoteUpdate, staff: StaffPrincipal, now: datetime
) -> ServiceNote:
    """The author edits their note within 24 hours."""
    note = await repository.get(session, member_no, note_id)
    if note is None:
        raise errors.note_not_found()
    if note.author_staff_id != staff.staff_id:
        raise errors.not_author()
    if now - note.created_at > EDIT_WINDOW:
        raise errors.edit_window_passed()
    for name, value in body.changes().items():
        setattr(note, name, value)
    note.updated_at = now
    await session.flush()
    return note
