"""identity-service events (topic ``identity.events``), keyed by member number."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.contracts import EventData, event
from shared.kafka.topics import IDENTITY_EVENTS

AppKind = Literal["mp", "oa", "web"]


@event("identity.member.created", topic=IDENTITY_EVENTS)
class MemberCreated(EventData):
    """A new person entered the system and got a member number."""

    member_no: int
    app: AppKind
    appid: str
    openid: str
    unionid: str | None = None
    channel_scene: str | None = None


@event("identity.member.identity_linked", topic=IDENTITY_EVENTS)
class IdentityLinked(EventData):
    """An openid or UnionID was attached to an existing member."""

    member_no: int
    app: AppKind | None = None
    appid: str | None = None
    openid: str | None = None
    unionid: str | None = None


@event("identity.member.merged", topic=IDENTITY_EVENTS)
class MemberMerged(EventData):
    """Two members were one person: ``from_member_no`` now points to ``into_member_no``."""

    from_member_no: int
    into_member_no: int
    reason: str


@event("identity.member.phone_bound", topic=IDENTITY_EVENTS)
class PhoneBound(EventData):
    """A member bound a phone number (the masked form, and the full one only sealed).

    ``phone_sealed``: the full number sealed with :class:`shared.sealing.Sealer`
    (context ``"phone"``), for services that show it to the staff roles allowed
    to see it; never plain text on the topic. ``republished``: identity sent
    the member's current phone again (phones bound before sealing get their
    sealed number this way); not a new binding.
    """

    member_no: int
    phone_masked: str
    country_code: str
    phone_sealed: str | None = None
    republished: bool = False


@event("identity.member.followed", topic=IDENTITY_EVENTS)
class MemberFollowed(EventData):
    """A member follows the service account (new follow or scan while following)."""

    member_no: int
    appid: str
    openid: str
    scene: str | None = None
    followed_at: datetime


@event("identity.member.unfollowed", topic=IDENTITY_EVENTS)
class MemberUnfollowed(EventData):
    """A member stopped following the service account."""

    member_no: int
    appid: str
    openid: str
    unfollowed_at: datetime


@event("identity.access.revoked", topic=IDENTITY_EVENTS)
class AccessRevoked(EventData):
    """Tokens of a subject issued at or before ``revoked_at`` no longer count.

    ``kind`` is ``staff`` (an account disabled or given another role; subject
    = staff id) or ``member_session`` (a mini-program session revoked;
    subject = session id). The gateway enforces it for tokens still within
    their lifetime.
    """

    kind: Literal["staff", "member_session"]
    subject: str
    revoked_at: datetime
    reason: str
    member_no: int | None = None


@event("identity.member.logged_in", topic=IDENTITY_EVENTS)
class MemberLoggedIn(EventData):
    """A member signed in to an app: at most one per member and Asia/Shanghai day (the first login of it).

    Emitted by the login statement itself when it moves the member's last
    login day, so a member who only logs in counts as active that day
    without an event per login.
    """

    member_no: int
    app: AppKind
    occurred_at: datetime
