"""Shapes of the member APIs (mini-program, internal, console)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from identity_service.phones.schemas import PhoneRead
from shared.fields import MemberNo, Text
from shared.routing import Page


class MemberAppRead(BaseModel):
    """An app the member is known in."""

    app: Text
    appid: Text


class MeRead(BaseModel):
    """The member's own profile in the mini-program."""

    member_no: MemberNo
    member_no_display: Text
    apps: list[MemberAppRead]
    phone: PhoneRead
    follows_service_account: bool


class OpenidRead(BaseModel):
    """One openid of a member."""

    app: Text
    appid: Text
    openid: Text
    linked_at: datetime


class MemberRead(BaseModel):
    """A member for other services; ``member_no`` is the survivor when ``requested_member_no`` was merged."""

    member_no: MemberNo
    member_no_display: Text
    requested_member_no: MemberNo
    merged: bool
    unionid: Text | None
    openids: list[OpenidRead]
    phone_bound: bool
    follows_service_account: bool
    created_at: datetime


class MemberResolve(BaseModel):
    """An openid another service met (e.g. a pay notification or a push)."""

    app: Literal["oa", "mp"]
    appid: Text = Field(min_length=1, max_length=64)
    openid: Text = Field(min_length=1, max_length=128)


class MemberResolveRead(MemberRead):
    """The member of an openid and whether it was created by this call."""

    created: bool


class FollowRead(BaseModel):
    """Follow state of one service-account openid."""

    appid: Text
    openid: Text
    subscribed: bool
    subscribed_at: datetime | None
    first_subscribed_at: datetime | None
    subscribe_scene: Text | None
    unsubscribed_at: datetime | None
    last_scan_scene: Text | None
    last_scanned_at: datetime | None


class StaffPhoneRead(BaseModel):
    """A phone of a member as staff see it (full only for roles allowed to)."""

    number: Text
    masked: bool
    country_code: Text
    source: Text
    bound_at: datetime


class MergeRead(BaseModel):
    """A recorded merge."""

    from_member_no: MemberNo
    into_member_no: MemberNo
    reason: Text
    actor: Text
    merged_at: datetime
    details: dict[str, object]


class MergeCandidateRead(BaseModel):
    """Two members who may be one person (the same phone), waiting for staff."""

    id: int
    member_no: MemberNo
    owner_member_no: MemberNo
    phone_masked: Text
    status: Text
    created_at: datetime


MergeCandidatePage = Page[MergeCandidateRead]


class MemberSummary(BaseModel):
    """A member in a list."""

    member_no: MemberNo
    member_no_display: Text
    unionid: Text | None
    apps: list[Text]
    phone: Text | None
    follows_service_account: bool
    created_at: datetime


MemberPage = Page[MemberSummary]


class MemberDetail(BaseModel):
    """Everything identity knows about a member, for staff."""

    member_no: MemberNo
    member_no_display: Text
    requested_member_no: MemberNo
    unionid: Text | None
    first_app: Text
    channel_scene: Text | None
    created_at: datetime
    openids: list[OpenidRead]
    follows: list[FollowRead]
    phones: list[StaffPhoneRead]
    merges: list[MergeRead]
    merge_candidates: list[MergeCandidateRead]


class MemberMergeCreate(BaseModel):
    """Merge another member into this one (the older number survives)."""

    other_member_no: MemberNo
    note: Text | None = Field(None, max_length=500)
