"""The one envelope every event travels in (architecture.md, "Events")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field
from uuid_utils.compat import uuid7


def new_event_id() -> UUID:
    """A time-ordered UUIDv7, so ids sort roughly by creation."""
    return uuid7()


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Metadata around one event's typed ``data``; consumers dedupe on ``id``."""

    model_config = ConfigDict(frozen=True)

    id: UUID = Field(default_factory=new_event_id)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)
    source: str
    member_no: int | None = None
    trace_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Wire form: compact JSON."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """Parse the wire form; raises ``pydantic.ValidationError`` or ``ValueError``."""
        return cls.model_validate(orjson.loads(raw))
