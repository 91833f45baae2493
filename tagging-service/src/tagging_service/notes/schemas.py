"""Shapes of service records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import PatchModel, Text

NoteKind = Literal["call", "chat", "reminder", "note"]
NoteText = Annotated[Text, Field(min_length=1, max_length=2000)]


class NoteCreate(BaseModel):
    """A contact, reminder or note about a member (e.g. 已提醒学习)."""

    kind: NoteKind
    text: NoteText


class NoteUpdate(PatchModel):
    """The author corrects a note within 24 hours."""

    kind: NoteKind | None = None
    text: NoteText | None = None


class NoteRead(BaseModel):
    """A service record with its author and time."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    member_no: int
    kind: str
    text: str
    author_staff_id: int
    author_name: str
    created_at: datetime
    updated_at: datetime | None
