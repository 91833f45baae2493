"""Shapes of the check-in API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.fields import Id, MemberNo, Text


class CheckinCreate(BaseModel):
    """Today's proof: some text and/or image URLs (as the period's plan asks)."""

    text: Text = Field("", max_length=2000)
    images: list[AnyHttpUrl] = Field(default_factory=list, max_length=9)


class CheckinVoid(BaseModel):
    """Why staff void a check-in."""

    reason: Text = Field(min_length=1, max_length=200)


class CheckinRead(BaseModel):
    """A check-in."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    period_id: Id
    member_no: MemberNo
    local_date: date
    text: Text
    images: list[Text]
    late: bool
    voided_at: datetime | None
    void_reason: Text | None
    created_at: datetime
