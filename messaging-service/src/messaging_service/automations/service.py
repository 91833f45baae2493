"""Messages messaging writes on its own: receipts, refund notices, check-in reminders, the follow welcome.

They go through the same purposes, routing, caps and ledger as any send; a
missing purpose means staff have not set that message up, and nothing is sent.
Each is created ``held`` until now, so the scheduler routes it within a tick
(a consumer never calls WeChat inside its transaction).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.messages.service import request_message
from messaging_service.purposes.models import Purpose
from shared.errors import ServiceError

log = structlog.get_logger("messaging.automations")


async def purpose_exists(session: AsyncSession, name: str) -> bool:
    """Whether staff have set up the purpose."""
    return bool(await session.scalar(select(Purpose.id).where(Purpose.name == name, Purpose.enabled.is_(True))))


async def write(
    session: AsyncSession, *, member_no: int, purpose: str, data: dict[str, Any], key: str, now: datetime
) -> int | None:
    """Record a message due now (routed by the scheduler); its id, or None when nothing is to be sent."""
    if not await purpose_exists(session, purpose):
        return None
    try:
        async with session.begin_nested():
            message, created = await request_message(
                session, member_no=member_no, purpose_name=purpose, data=data, send_at=None,
                source="automation", idempotency_key=key, now=now,
            )
            if created:
                message.status, message.hold_until = "held", now
    except ServiceError as exc:  # data the purpose's templates refuse: logged, never retried forever
        log.warning("automation_not_sent", purpose=purpose, member_no=member_no, detail=exc.detail)
        return None
    return message.id


def yuan(fen: int) -> str:
    """An ``amount`` field value."""
    return f"{fen // 100}.{fen % 100:02d}"


def welcome_purpose(scene: str | None) -> list[str]:
    """Purposes tried for a follow: the scene's own, then the general one."""
    names = []
    if scene:
        slug = re.sub(r"[^a-z0-9_]", "_", scene.lower())[:40]
        names.append(f"follow.welcome.{slug}")
    names.append("follow.welcome")
    return names


_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def reminder_time_of(data: dict[str, Any]) -> time | None:
    """A period's ``reminder_time`` ("HH:MM", local) from an event's data; None when absent or malformed."""
    value = data.get("reminder_time")
    if not isinstance(value, str):
        return None
    match = _HH_MM.match(value.strip()[:5]) if len(value.strip()) in (5, 8) else None
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def period_start_key(period_id: int, member_no: int) -> str:
    """At most one ``period.starting`` per member and period."""
    return f"period-start:{period_id}:{member_no}"


async def due_reminders(
    session: AsyncSession, *, now: datetime, zone: str, remind_at: time, limit: int = 1000
) -> list[tuple[int, int]]:
    """(period, member) pairs to remind now: registered, period started, no check-in today, not reminded today.

    A period's own reminder time (from campaign's events) wins over ``remind_at``, the setting.
    """
    local = now.astimezone(ZoneInfo(zone))
    today = local.date()
    rows = await session.execute(
        text(
            """SELECT r.period_id, r.member_no FROM campaign_registrants r
               JOIN campaign_periods p ON p.period_id = r.period_id
               WHERE p.state = 'open'
                 AND (p.started_on <= :today OR p.first_checkin_date <= :today)
                 AND COALESCE(p.reminder_time, :remind_at) <= :local_time
                 AND r.state = 'confirmed'
                 AND NOT EXISTS (SELECT 1 FROM campaign_checkins c WHERE c.period_id = r.period_id
                                 AND c.member_no = r.member_no AND c.local_date = :today)
                 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.source = 'automation'
                                 AND m.idempotency_key = 'reminder:' || r.member_no || ':' || :today_text)
               ORDER BY r.period_id, r.member_no LIMIT :n"""
        ),
        {"today": today, "today_text": today.isoformat(), "n": limit, "remind_at": remind_at,
         "local_time": local.time().replace(tzinfo=None)},
    )
    return [(int(a), int(b)) for a, b in rows]


def reminder_key(member_no: int, day: str) -> str:
    """At most one reminder per member and local day, whatever the number of periods."""
    return f"reminder:{member_no}:{day}"


