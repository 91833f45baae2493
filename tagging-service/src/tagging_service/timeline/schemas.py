"""Shapes of a member's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class TimelineItem(BaseModel):
    """One thing that happened to or was done about a member."""

    at: datetime
    kind: str
    data: dict[str, Any]
