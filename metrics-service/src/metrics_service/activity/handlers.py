"""Consumers of activity: mini-program telemetry in batches, and service-account messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import repository
from shared.contracts import parse
from shared.contracts.gateway import ActivityRecorded, InboundBase
from shared.events import Envelope

ACTIVITY = "app.activity.recorded"
# Pushes that are something the member did towards the service account.
MEMBER_PUSHES = ("wechat.inbound.message", "wechat.inbound.menu_clicked", "wechat.inbound.session_entered")


def moment_of_activity(envelope: Envelope, data: ActivityRecorded) -> datetime:
    """When a telemetry item happened (definitions: Time)."""
    return data.at or envelope.occurred_at


async def apply_activity(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Fold a batch of telemetry into the daily rollups: two statements per batch."""
    days: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    hours: dict[tuple[date, int], int] = defaultdict(int)
    for envelope in envelopes:
        data = parse(envelope, ActivityRecorded)
        at = moment_of_activity(envelope, data)
        day = definitions.local_day(at)
        row = days[(day, data.member_no)]
        row[0] += 1
        row[1] += 1
        if data.duration_ms:
            row[2] += max(0, min(data.duration_ms, definitions.MAX_DWELL_MS))
        hours[(day, definitions.local_hour(at))] += 1
    await repository.add_member_days(session, {k: (v[0], v[1], v[2]) for k, v in days.items()})
    await repository.add_hours(session, dict(hours))


async def touch(session: AsyncSession, *, member_no: int, at: datetime, mini_program: bool = False) -> None:
    """Count a member active on the local day of ``at`` (definitions: active member)."""
    await repository.add_member_days(
        session, {(definitions.local_day(at), member_no): (1, 1 if mini_program else 0, 0)}
    )


async def on_member_push(session: AsyncSession, envelope: Envelope) -> None:
    """A message or click to the service account makes its member active, once the openid is known."""
    data = parse(envelope, InboundBase)
    member_no = envelope.member_no or await repository.member_of_openid(session, data.openid)
    if member_no is not None:
        await touch(session, member_no=member_no, at=envelope.occurred_at)


HANDLERS = {name: on_member_push for name in MEMBER_PUSHES}
