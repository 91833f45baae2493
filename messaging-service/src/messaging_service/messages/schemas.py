"""Shapes of the send and delivery-log API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from messaging_service.purposes.schemas import PurposeData, PurposeName
from shared.fields import MemberNo

Status = Literal["queued", "held", "sending", "sent", "delivered", "failed", "undeliverable", "unknown"]
Reason = Literal[
    "frequency_capped", "quiet_hours_deferred", "no_credit", "window_closed", "not_following", "blocked",
    "user_refused", "duplicate", "rate_limited", "invalid_data", "provider_error", "unknown_outcome",
]


class MessageCreate(BaseModel):
    """A send: who, for which purpose, with which data, and when (now when absent)."""

    member_no: MemberNo
    purpose: PurposeName
    data: PurposeData = Field(default_factory=dict)
    send_at: Annotated[datetime, Field(description="timezone-aware")] | None = None


class AttemptRead(BaseModel):
    """One channel tried: called at WeChat, or judged unusable without a call."""

    model_config = ConfigDict(from_attributes=True)

    channel: Literal["subscribe", "template", "custom"]
    template_id: str | None
    outcome: Literal["sent", "refused", "retry", "failed", "unknown", "skipped"]
    reason: Reason | None
    errcode: int | None
    errmsg: str | None
    at: datetime


class MessageRead(BaseModel):
    """A message and where it ended."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    member_no: int
    purpose: str
    message_class: Literal["transactional", "marketing"]
    status: Status
    channel: Literal["subscribe", "template", "custom"] | None
    template_id: str | None
    reason: Reason | None
    reasons: list[Reason]
    broadcast_id: int | None
    send_at: datetime | None
    hold_until: datetime | None
    requested_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    delivery_status: str | None


class MessageDetail(MessageRead):
    """A message with its data and every attempt."""

    data: dict[str, Any]
    attempts: list[AttemptRead]


class MessagePage(BaseModel):
    """A page of the delivery log, newest first."""

    items: list[MessageRead]
    next_cursor: str | None = None
