"""Mini-program activity into the facts, many items at once.

A poll of ``app.activity`` is applied in one transaction (the consumer's inbox
claim covers the whole poll): client ids are claimed in one statement, then
the items are summed per (member, day, kind) and per quiz (member, day,
series, period) in Python and written with one upsert each, so a poll of
hundreds of items costs a handful of statements. The same function applies a
single redelivered item (the per-event fallback of the consumer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.gateway import ActivityRecorded
from shared.events import Envelope
from tagging_service.facts import repository as facts
from tagging_service.facts.members import ensure_members

QUIZ = "quiz.answered"
MAX_DURATION_MS = 24 * 3600 * 1000


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


@dataclass
class _Sum:
    """Counts of one projection row in a batch, with its newest event ids first."""

    items: int = 0
    extra: int = 0
    event_ids: list[UUID] = field(default_factory=list)

    def add(self, event_id: UUID, extra: int) -> None:
        self.items += 1
        self.extra += extra
        self.event_ids.insert(0, event_id)
        del self.event_ids[facts.EVIDENCE_EVENTS:]


def _parse(data: dict[str, object]) -> ActivityRecorded:
    """The item's contract; well-formed items skip pydantic's validation (thousands per second arrive)."""
    member_no, kind, at = data.get("member_no"), data.get("kind"), data.get("at")
    duration, props, client_id, page = (data.get("duration_ms"), data.get("props", {}), data.get("client_event_id"),
                                        data.get("page"))
    if (type(member_no) is int and type(kind) is str and type(at) is str and type(props) is dict
            and (duration is None or type(duration) is int) and (client_id is None or type(client_id) is str)
            and (page is None or type(page) is str)):
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            return ActivityRecorded.model_validate(data)
        if when.tzinfo is not None:
            return ActivityRecorded.model_construct(member_no=member_no, kind=kind, at=when, page=page,
                                                    duration_ms=duration, props=props, client_event_id=client_id)
    return ActivityRecorded.model_validate(data)


async def record_activity(session: AsyncSession, envelopes: list[Envelope], tz: ZoneInfo) -> int:
    """Count ``app.activity.recorded`` events into the facts; returns how many items counted."""
    parsed = [(e, _parse(e.data)) for e in envelopes]
    survivors = await facts.survivors_of(session, sorted({d.member_no for _, d in parsed}))
    items = [(e, d, survivors.get(d.member_no, d.member_no)) for e, d in parsed]
    # A retried batch carries the same client ids: only the first sighting of each counts.
    claims = sorted({(m, d.client_event_id[:200]) for _, d, m in items if d.client_event_id})
    fresh = await facts.claim_activity(session, claims) if claims else set()
    counted: list[tuple[Envelope, ActivityRecorded, int]] = []
    for envelope, data, member_no in items:
        if data.client_event_id:
            key = (member_no, data.client_event_id[:200])
            if key not in fresh:
                continue
            fresh.discard(key)
        counted.append((envelope, data, member_no))
    if not counted:
        return 0
    members = sorted({m for _, _, m in counted})
    await ensure_members(session, members)
    activity: dict[tuple[int, date, str], _Sum] = {}
    quiz: dict[tuple[int, date, int, int], _Sum] = {}
    last_active: dict[int, datetime] = {}
    for envelope, data, member_no in counted:
        at = data.at or envelope.occurred_at
        day = at.astimezone(tz).date()
        duration = max(0, min(data.duration_ms or 0, MAX_DURATION_MS))
        activity.setdefault((member_no, day, data.kind[:100]), _Sum()).add(envelope.id, duration)
        if data.kind == QUIZ:
            quiz_key = (member_no, day, _int(data.props.get("series_id")) or 0,
                        _int(data.props.get("period_id")) or 0)
            quiz.setdefault(quiz_key, _Sum()).add(envelope.id, 1 if data.props.get("correct") is False else 0)
        if member_no not in last_active or at > last_active[member_no]:
            last_active[member_no] = at
    await facts.add_activity_rows(session, [(*k, s.items, s.extra, s.event_ids) for k, s in sorted(activity.items())])
    if quiz:
        await facts.add_quiz_rows(session, [(*k, s.items, s.extra, s.event_ids) for k, s in sorted(quiz.items())])
    await facts.touch_active_many(session, sorted(last_active.items()))
    await facts.mark_dirty(session, members)
    return len(counted)
