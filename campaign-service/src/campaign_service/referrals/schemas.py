"""Shapes of the referral API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.fields import Id, MemberNo, Text


class InviteRead(BaseModel):
    """The member's invite code and how many people it brought."""

    member_no: MemberNo
    code: Text
    credited: int
    pending: int


class ReferralRead(BaseModel):
    """Who brought whom, through which registration."""

    model_config = ConfigDict(from_attributes=True)

    invitee_member_no: MemberNo
    inviter_member_no: MemberNo
    invite_code: Text
    registration_id: Id
    period_id: Id
    state: Text
    created_at: datetime
    credited_at: datetime | None


class InviterRead(BaseModel):
    """An inviter and the people they brought."""

    inviter_member_no: MemberNo
    credited: int
    pending: int
