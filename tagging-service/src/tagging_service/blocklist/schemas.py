"""Shapes of the blocklist API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from shared.fields import Text


class BlockCreate(BaseModel):
    """Why the member is barred (e.g. 群内发广告)."""

    reason: Annotated[Text, Field(min_length=1, max_length=500)]


class BlockRead(BaseModel):
    """Whether a member is on the blocklist, since when, by whom and why."""

    member_no: int
    blocked: bool
    reason: str | None = None
    by_staff_id: int | None = None
    blocked_at: datetime | None = None
