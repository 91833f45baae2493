"""Shapes of the referral API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class InviteRead(BaseModel):
    """The member's invite code and how many people it brought."""

    member_no: int
    code: str
    credited: int
    pending: int


class ReferralRead(BaseModel):
    """Who brought whom, through which registration."""

    model_config = ConfigDict(from_attributes=True)

    invitee_member_no: int
    inviter_member_no: int
    invite_code: str
    registration_id: int
    period_id: int
    state: str
    created_at: datetime
    credited_at: datetime | None


class InviterRead(BaseModel):
    """An inviter and the people they brought."""

    inviter_member_no: int
    credited: int
    pending: int
