"""Shapes of the auto-reply API."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import PatchModel, Text

Match = Literal["exact", "contains"]
App = Literal["oa", "mp", "all"]


class AutoReplyCreate(BaseModel):
    """A new keyword rule."""

    keyword: Text = Field(min_length=1, max_length=60)
    match: Match = "exact"
    app: App = "all"
    reply: Text = Field(min_length=1, max_length=600)
    enabled: bool = True


class AutoReplyUpdate(PatchModel):
    """Changes to a rule (only the fields given; none may be null)."""

    keyword: Text | None = Field(None, min_length=1, max_length=60)
    match: Match | None = None
    app: App | None = None
    reply: Text | None = Field(None, min_length=1, max_length=600)
    enabled: bool | None = None


class AutoReplyRead(BaseModel):
    """A rule as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    keyword: Text
    match: Match
    app: App
    reply: Text
    enabled: bool


class AutoReplyList(BaseModel):
    """All rules (a handful per account, so no pagination)."""

    items: list[AutoReplyRead]
