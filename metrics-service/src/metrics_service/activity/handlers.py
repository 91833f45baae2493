"""Consumers of activity: mini-program telemetry in batches, and service-account messages."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import bitmaps, repository
from shared.contracts import parse
from shared.contracts.gateway import ActivityRecorded, InboundBase
from shared.events import Envelope

ACTIVITY = "app.activity.recorded"
# Pushes that are something the member did towards the service account.
MEMBER_PUSHES = ("wechat.inbound.message", "wechat.inbound.menu_clicked", "wechat.inbound.session_entered")


def moment_of_activity(envelope: Envelope, data: ActivityRecorded) -> datetime:
    """When a telemetry item happened (definitions: Time)."""
    return data.at or envelope.occurred_at


@dataclass(slots=True, frozen=True)
class ActivityItem:
    """The part of an ``app.activity.recorded`` event the fold reads, taken straight from its wire form."""

    id: str  # the event id in its canonical form (lower-case hex with hyphens), as PostgreSQL prints a uuid
    member_no: int
    at: datetime
    duration_ms: int
    type: str = ACTIVITY


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fast_activity(raw: bytes) -> ActivityItem | None:
    """Read a telemetry event without the pydantic models; None unless it is plainly well-formed.

    Validating the envelope and its payload through pydantic cost about twice
    the rest of the ingest per event. This accepts only what those models
    accept too (exact types, ISO timestamps with a zone, the required
    fields, an id spelled as PostgreSQL spells a uuid, since the claim compares
    the text), so anything else — a poison event included — takes the full
    parse and its dead-letter path, and the fold is the same either way.
    """
    try:
        doc = orjson.loads(raw)
        if doc.get("type") != ACTIVITY or doc.get("version", 1) != 1 or type(doc.get("source")) is not str:
            return None
        data = doc["data"]
        member_no, kind, duration = data["member_no"], data["kind"], data.get("duration_ms")
        if type(member_no) is not int or type(kind) is not str or (duration is not None and type(duration) is not int):
            return None
        occurred = datetime.fromisoformat(doc["occurred_at"])
        at_raw = data.get("at")
        at = datetime.fromisoformat(at_raw) if at_raw is not None else occurred
        if at.tzinfo is None or occurred.tzinfo is None or doc.get("member_no") not in (None, member_no):
            return None
        event_id = doc["id"]
        if type(event_id) is not str or _CANONICAL_UUID.fullmatch(event_id) is None:
            return None  # any other spelling of a uuid takes the full parse
        return ActivityItem(id=event_id, member_no=member_no, at=at, duration_ms=duration or 0)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class Touches:
    """What a batch adds to the daily rollups, written once when the batch ends (:func:`flush`)."""

    def __init__(self) -> None:
        self.days: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.hours: dict[tuple[date, int], int] = defaultdict(int)
        self.members: dict[tuple[date, str], set[int]] = defaultdict(set)
        self.dwell: dict[date, int] = defaultdict(int)

    def touch(self, *, member_no: int, day: date, mini_program: bool, dwell_ms: int = 0) -> None:
        """One recorded event of a member on a day."""
        row = self.days[(day, member_no)]
        row[0] += 1
        self.members[(day, bitmaps.ANY)].add(member_no)
        if mini_program:
            row[1] += 1
            row[2] += dwell_ms
            self.members[(day, bitmaps.MINI_PROGRAM)].add(member_no)
            if dwell_ms:
                self.dwell[day] += dwell_ms


TOUCHES_KEY = "metrics_touches"


def touches(session: AsyncSession) -> Touches:
    """The pending rollup writes of this transaction."""
    pending = session.info.get(TOUCHES_KEY)
    if pending is None:
        pending = session.info[TOUCHES_KEY] = Touches()
    return pending


async def flush(session: AsyncSession) -> None:
    """Write the pending rollups: member-days, hours, day bitmaps, dwell counters (a few statements)."""
    pending: Touches | None = session.info.pop(TOUCHES_KEY, None)
    if pending is None:
        return
    await repository.add_member_days(session, {k: (v[0], v[1], v[2]) for k, v in pending.days.items()})
    await repository.add_hours(session, dict(pending.hours))
    await bitmaps.add(session, dict(pending.members))
    if pending.dwell:
        from metrics_service.overview.repository import add_counters

        await add_counters(session, {(day, "dwell_ms"): ms for day, ms in pending.dwell.items()})


async def apply_activity(session: AsyncSession, envelopes: Sequence[Envelope | ActivityItem]) -> None:
    """Fold a batch of telemetry into the pending rollups (what :meth:`Touches.touch` does, inlined per event)."""
    pending = touches(session)
    hours, days, members, dwell_of = pending.hours, pending.days, pending.members, pending.dwell
    local_day_hour, cap = definitions.local_day_hour, definitions.MAX_DWELL_MS
    for envelope in envelopes:
        if isinstance(envelope, ActivityItem):
            member_no, at, duration = envelope.member_no, envelope.at, envelope.duration_ms
        else:
            data = parse(envelope, ActivityRecorded)
            member_no, at, duration = data.member_no, moment_of_activity(envelope, data), data.duration_ms or 0
        day, hour = local_day_hour(at)
        dwell = duration if 0 <= duration <= cap else (0 if duration < 0 else cap)
        row = days[(day, member_no)]
        row[0] += 1
        row[1] += 1
        members[(day, bitmaps.ANY)].add(member_no)
        members[(day, bitmaps.MINI_PROGRAM)].add(member_no)
        if dwell:
            row[2] += dwell
            dwell_of[day] += dwell
        hours[(day, hour)] += 1


async def touch(session: AsyncSession, *, member_no: int, at: datetime, mini_program: bool = False) -> None:
    """Count a member active on the local day of ``at`` (definitions: active member)."""
    touches(session).touch(member_no=member_no, day=definitions.local_day(at), mini_program=mini_program)


def mark_new(session: AsyncSession, *, member_no: int, day: date) -> None:
    """A member first seen on ``day`` (the cohorts of lifecycle and retention)."""
    touches(session).members[(day, bitmaps.NEW)].add(member_no)


async def on_member_push(session: AsyncSession, envelope: Envelope) -> None:
    """A message or click to the service account makes its member active, once the openid is known."""
    data = parse(envelope, InboundBase)
    member_no = envelope.member_no or await repository.member_of_openid(session, data.openid)
    if member_no is not None:
        await touch(session, member_no=member_no, at=envelope.occurred_at)


HANDLERS = {name: on_member_push for name in MEMBER_PUSHES}
