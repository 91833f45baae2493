"""Shapes of the auto-tagging rule API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from shared.fields import Id, Text


class TagRuleCreate(BaseModel):
    """A condition in the segment language, evaluated for one member, and what to do when it holds."""

    name: Annotated[Text, Field(min_length=1, max_length=80)]
    condition: dict[str, Any]
    action: Literal["apply", "remove"] = "apply"
    tag_id: Id
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    enabled: bool = True


class BackfillRead(BaseModel):
    """Progress of a rule's back-fill over every existing member."""

    rule_id: int
    rule_version: int
    state: Literal["pending", "running", "done", "failed"]
    done: int
    total: int
    changed: int
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class TagRuleRead(BaseModel):
    """A saved rule."""

    id: int
    name: str
    condition: dict[str, Any]
    action: str
    tag_id: int
    expires_in_days: int | None
    enabled: bool
    version: int
    created_by: int
    created_at: datetime
    updated_at: datetime | None
