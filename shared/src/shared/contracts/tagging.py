"""tagging-service events (topic ``tagging.events``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.contracts import EventData, event
from shared.kafka.topics import TAGGING_EVENTS


@event("tagging.member.blocked", topic=TAGGING_EVENTS)
class MemberBlocked(EventData):
    """A member was put on the blocklist (e.g. spamming ads in groups)."""

    member_no: int
    reason: str
    by_staff_id: int | None = None


@event("tagging.member.unblocked", topic=TAGGING_EVENTS)
class MemberUnblocked(EventData):
    """A member was taken off the blocklist."""

    member_no: int
    by_staff_id: int | None = None


@event("tagging.member.tagged", topic=TAGGING_EVENTS)
class MemberTagged(EventData):
    """A tag was attached to a member, by a rule or by staff.

    ``tag`` is the tag's name and ``source`` one of ``staff``, ``rule``,
    ``import``, ``system``; ``source_id`` the staff id or rule id; ``evidence``
    the event ids (and facts) that explain a rule's application.
    """

    member_no: int
    tag: str
    source: str
    tag_id: int | None = None
    source_id: int | None = None
    applied_at: datetime | None = None
    expires_at: datetime | None = None
    evidence: list[str] = Field(default_factory=list)


@event("tagging.member.untagged", topic=TAGGING_EVENTS)
class MemberUntagged(EventData):
    """A tag was taken off a member (``removed_by``: staff, rule, expiry, merge, tag-deleted)."""

    member_no: int
    tag_id: int
    tag: str
    removed_by: str
    removed_by_id: int | None = None
