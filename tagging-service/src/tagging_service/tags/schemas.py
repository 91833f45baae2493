"""Shapes of the tag API: groups, tags, member tags, bulk application."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.fields import Id, MemberNo, PatchModel, Text

Name = Annotated[Text, Field(min_length=1, max_length=40)]
Description = Annotated[Text, Field(max_length=500)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]
Reason = Annotated[Text, Field(max_length=500)]
MAX_BULK = 10_000


class TagGroupCreate(BaseModel):
    """A new tag group."""

    name: Name
    description: Description | None = None


class TagGroupRead(BaseModel):
    """A tag group."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime


class TagCreate(BaseModel):
    """A new tag in a group (``system`` tags are the service's own)."""

    group_id: Id
    name: Name
    colour: Colour | None = None
    description: Description | None = None
    kind: Literal["manual", "rule"] = "manual"


class TagUpdate(PatchModel):
    """Rename, recolour, describe or move a tag."""

    nullable = frozenset({"colour", "description"})

    group_id: Id | None = None
    name: Name | None = None
    colour: Colour | None = None
    description: Description | None = None


class TagRead(BaseModel):
    """A tag and how many members carry it now."""

    id: int
    group_id: int
    name: str
    colour: str | None
    description: str | None
    kind: str
    members: int
    created_at: datetime


class MemberTagCreate(BaseModel):
    """Attach a tag to a member."""

    tag_id: Id
    expires_at: AwareDatetime | None = None
    reason: Reason | None = None


class MemberTagRead(BaseModel):
    """A tag a member carries, with its source and evidence."""

    member_no: int
    tag_id: int
    tag: str
    group_id: int
    kind: str
    source: str
    source_id: int | None
    evidence: dict[str, Any]
    reason: str | None
    applied_at: datetime
    expires_at: datetime | None


class MemberTagHistoryRead(MemberTagRead):
    """A removed member tag."""

    removed_at: datetime
    removed_by: str
    removed_by_id: int | None


class MemberTagsRead(BaseModel):
    """A member's current tags and the most recent removals."""

    member_no: int
    items: list[MemberTagRead]
    history: list[MemberTagHistoryRead]


class BulkTagCreate(BaseModel):
    """Attach a tag to many members: listed numbers or a saved segment's members."""

    member_nos: Annotated[list[MemberNo], Field(max_length=MAX_BULK)] | None = None
    segment_id: Id | None = None
    expires_at: AwareDatetime | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BulkTagCreate:
        if (self.member_nos is None) == (self.segment_id is None):
            raise PydanticCustomError("one_of", "请提供 member_nos 或 segment_id 之一（二选一）。")
        return self


class BulkTagResult(BaseModel):
    """What a bulk application did."""

    tag_id: int
    total: int
    applied: int
    already: int


class ImportRowError(BaseModel):
    """A row of an imported file that cannot be used."""

    row: int
    value: str
    message: str


class ImportResult(BaseModel):
    """What an import did (or, on a dry run, would do)."""

    dry_run: bool
    encoding: str
    rows: int
    valid: int
    already: int
    applied: int
    preview: list[int]
    errors: list[ImportRowError]
