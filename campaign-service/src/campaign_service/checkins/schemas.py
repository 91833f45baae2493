"""Shapes of the check-in API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class CheckinCreate(BaseModel):
    """Today's proof: some text and/or image URLs (as the period's plan asks)."""

    text: str = Field("", max_length=2000)
    images: list[AnyHttpUrl] = Field(default_factory=list, max_length=9)


class CheckinVoid(BaseModel):
    """Why staff void a check-in."""

    reason: str = Field(min_length=1, max_length=200)


class CheckinRead(BaseModel):
    """A check-in."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    period_id: int
    member_no: int
    local_date: date
    text: str
    images: list[str]
    late: bool
    voided_at: datetime | None
    void_reason: str | None
    created_at: datetime
