"""Shapes of the reach API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from messaging_service.messages.schemas import MessageRead


class CreditRead(BaseModel):
    """Subscribe sends left of one template."""

    template_id: str
    title: str | None
    credits: int
    long_term: bool
    accepted_total: int
    last_decision: str | None
    zeroed_reason: str | None


class WindowRead(BaseModel):
    """A customer-service window of the service account."""

    interaction: str
    opened_at: datetime
    expires_at: datetime
    open: bool
    limit: int | None
    used: int
    remaining: int | None


class CapRead(BaseModel):
    """Marketing sends counted today (Asia/Shanghai)."""

    local_date: date
    used: int
    limit: int


class ReachRead(BaseModel):
    """Everything that decides how a member can be written to, right now."""

    member_no: int
    mp_openid: str | None
    oa_openid: str | None
    following: bool
    blocked: bool
    credits: list[CreditRead]
    windows: list[WindowRead]
    # Customer-service sends possible now (null: unlimited; 0: the window is closed).
    custom_sends_remaining: int | None
    cap: CapRead
    quiet_hours_now: bool
    last_sends: list[MessageRead]
