"""Shapes of the broadcast API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from messaging_service.purposes.schemas import PurposeData, PurposeName
from shared.fields import Id, MemberNo

State = Literal["scheduled", "running", "paused", "cancelled", "finished"]


class BroadcastCreate(BaseModel):
    """A broadcast to a tagging segment or to listed members."""

    segment_id: Id | None = None
    member_nos: Annotated[list[MemberNo], Field(max_length=100_000)] | None = None
    purpose: PurposeName
    data: PurposeData = Field(default_factory=dict)
    rate_per_second: Annotated[float, Field(gt=0, le=5000)] = 50.0
    send_at: datetime | None = None

    @model_validator(mode="after")
    def _one_audience(self) -> BroadcastCreate:
        if (self.segment_id is None) == (self.member_nos is None):
            raise ValueError("give exactly one of segment_id and member_nos")
        return self


class ForecastRead(BaseModel):
    """How many members each channel would reach now, and how many not, by reason."""

    total: int
    by_channel: dict[str, int]
    undeliverable: dict[str, int]


class BroadcastRead(BaseModel):
    """A broadcast and its progress."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    purpose: str
    segment_id: int | None
    rate_per_second: float
    state: State
    total: int
    send_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    sent: int = 0
    fell_back: int = 0
    failed: int = 0
    unknown: int = 0
    undeliverable: dict[str, int] = Field(default_factory=dict)
    remaining: int = 0
