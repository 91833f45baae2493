"""tagging-service events (topic ``tagging.events``)."""

from __future__ import annotations

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
    """A tag was attached to a member, by a rule or by staff."""

    member_no: int
    tag: str
    source: str
