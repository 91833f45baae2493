"""Shapes of the auto-reply API."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Match = Literal["exact", "contains"]
App = Literal["oa", "mp", "all"]


class AutoReplyCreate(BaseModel):
    """A new keyword rule."""

    keyword: str = Field(min_length=1, max_length=60)
    match: Match = "exact"
    app: App = "all"
    reply: str = Field(min_length=1, max_length=600)
    enabled: bool = True


class AutoReplyUpdate(BaseModel):
    """Changes to a rule (only the fields given)."""

    keyword: str | None = Field(None, min_length=1, max_length=60)
    match: Match | None = None
    app: App | None = None
    reply: str | None = Field(None, min_length=1, max_length=600)
    enabled: bool | None = None


class AutoReplyRead(BaseModel):
    """A rule as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    keyword: str
    match: Match
    app: App
    reply: str
    enabled: bool


class AutoReplyList(BaseModel):
    """All rules (a handful per account, so no pagination)."""

    items: list[AutoReplyRead]
