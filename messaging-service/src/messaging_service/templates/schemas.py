"""Shapes of the template registry API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

App = Literal["mp", "oa"]


class TemplateField(BaseModel):
    """One field of a template, as parsed from its content."""

    key: str
    type: str
    label: str = ""


class TemplateRead(BaseModel):
    """A template as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    app: App
    template_id: str
    title: str
    content: str
    kind: Literal["one_time", "long_term", "template"]
    fields: list[TemplateField]
    synced_at: datetime
    removed_at: datetime | None


class TemplateList(BaseModel):
    """Every template of the registry (a few dozen per app, no pagination)."""

    items: list[TemplateRead]


class SyncResult(BaseModel):
    """What a sync changed, per app."""

    app: App
    added: int
    updated: int
    removed: int
    total: int


class SyncReport(BaseModel):
    """The result of syncing every app."""

    results: list[SyncResult]
