"""Consumers of activity: mini-program telemetry in batches, and service-account messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

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
    return pending  # type: ignore[no-any-return]


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


async def apply_activity(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Fold a batch of telemetry into the pending rollups."""
    pending = touches(session)
    for envelope in envelopes:
        data = parse(envelope, ActivityRecorded)
        at = moment_of_activity(envelope, data)
        day = definitions.local_day(at)
        dwell = max(0, min(data.duration_ms or 0, definitions.MAX_DWELL_MS))
        pending.touch(member_no=data.member_no, day=day, mini_program=True, dwell_ms=dwell)
        pending.hours[(day, definitions.local_hour(at))] += 1


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
