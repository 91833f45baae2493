"""Shapes of the segment API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from shared.fields import Text

Name = Annotated[Text, Field(min_length=1, max_length=80)]


class SegmentPreview(BaseModel):
    """A definition to count, and optionally rank, without saving it."""

    definition: dict[str, Any] = Field(description="the segment language (see the service docs)")
    rank: dict[str, Any] | None = Field(None, description='{"fact": ..., "order": "desc" | "asc"}')
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class SegmentCreate(BaseModel):
    """A saved segment."""

    name: Name
    description: Annotated[Text, Field(max_length=500)] | None = None
    definition: dict[str, Any]
    rank: dict[str, Any] | None = None


class RankedMember(BaseModel):
    """A member of a segment and its rank value (null when unranked)."""

    member_no: int
    rank_value: float | None


class SegmentMembers(BaseModel):
    """How many members a definition selects, and one page of them."""

    count: int
    members: list[RankedMember]
    next_cursor: str | None = None


class SegmentRead(BaseModel):
    """A saved segment with its current size."""

    id: int
    name: str
    description: str | None
    kind: str
    definition: dict[str, Any]
    rank: dict[str, Any] | None
    count: int
    created_by: int
    created_at: datetime
    updated_at: datetime | None
    frozen_at: datetime | None


class InternalMembers(BaseModel):
    """A page of member numbers for another service (messaging)."""

    members: list[int]
    next_cursor: str | None = None
