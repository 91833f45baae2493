"""Messages messaging writes on its own: receipts, refund notices, check-in reminders, the follow welcome.

They go through the same purposes, routing, caps and ledger as any send; a
missing purpose means staff have not set that message up, and nothing is sent.
Each is created ``held`` until now, so the scheduler routes it within a tick
(a consumer never calls WeChat inside its transaction).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.messages.service import request_hash, request_message
from messaging_service.purposes import service as purposes
from messaging_service.purposes.models import Purpose
from shared.contracts.messaging import MessageRequested
from shared.errors import ServiceError
from shared.events.outbox import WAKE_KEY, WRITTEN_KEY, notify_sql, outbox_row, service_of

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


# Rows per statement of a fan-out (a period's start, a reminder time): each chunk is one INSERT of the
# messages and their ``requested`` events, whatever the number of members in it.
FAN_OUT_CHUNK = 1000

# The messages (held until now: the scheduler routes them) and their events in one statement. A key already
# taken (a redelivered event, a replica that got there first) inserts nothing and emits nothing: the unique
# (source, idempotency_key) index decides, so concurrent writers of the same fan-out never both win.
FAN_OUT_SQL = """
WITH v AS (
  SELECT * FROM unnest(CAST(:members AS bigint[]), CAST(:keys AS text[]), CAST(:hashes AS text[]),
                       CAST(:data AS text[]), CAST(:events AS text[])) AS v(member_no, key, hash, data, event)
), m AS (
  INSERT INTO messages (member_no, purpose, message_class, data, status, source, idempotency_key, request_hash,
                        hold_until, requested_at, reasons, next_channel, quiet_deferred, updated_at)
  SELECT v.member_no, :purpose, :klass, v.data::jsonb, 'held', 'automation', v.key, v.hash, :now, :now,
         '[]'::jsonb, 0, false, :now
  FROM v
  ON CONFLICT (source, idempotency_key) DO NOTHING
  RETURNING id, idempotency_key
), o AS (
  INSERT INTO outbox (event_id, topic, key, type, envelope)
  SELECT (e->>'event_id')::uuid, e->>'topic', e->>'key', e->>'type',
         jsonb_set(e->'envelope', '{data,message_id}', to_jsonb(m.id))
  FROM m JOIN v ON v.key = m.idempotency_key CROSS JOIN LATERAL (SELECT v.event::jsonb AS e) x
)
SELECT count(*) FROM m
"""


async def write_many(
    session: AsyncSession, *, purpose: str, rows: Sequence[tuple[int, str, dict[str, Any]]], now: datetime,
    chunk: int | None = None,
) -> int:
    """Messages due now for many members at once, ``(member_no, key, data)`` each; how many were new.

    The set-based :func:`write`: one statement per ``chunk`` rows instead of a
    savepoint, a lookup and two inserts per member. Data the purpose's
    templates refuse are logged and skipped, as :func:`write` does.
    """
    if not rows:
        return 0
    try:
        snapshot = await purposes.get_by_name(session, purpose)
    except ServiceError:
        return 0
    if not await purpose_exists(session, purpose):
        return 0
    refused: dict[bytes, bool] = {}
    usable: list[tuple[int, str, dict[str, Any], bytes]] = []
    keys: set[str] = set()
    for member_no, key, data in rows:
        if key in keys:  # the first row of a key wins, as the unique index would decide
            continue
        keys.add(key)
        encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        if encoded not in refused:
            try:
                await purposes.validate_data(session, snapshot, data)
                refused[encoded] = False
            except ServiceError as exc:
                log.warning("automation_not_sent", purpose=purpose, member_no=member_no, detail=exc.detail)
                refused[encoded] = True
        if not refused[encoded]:
            usable.append((member_no, key, data, encoded))
    source = service_of(session)
    chunk = chunk or FAN_OUT_CHUNK
    written = 0
    for start in range(0, len(usable), chunk):
        part = usable[start:start + chunk]
        events = [
            orjson.dumps(outbox_row(
                MessageRequested(member_no=member_no, message_id=0, purpose=snapshot.name,
                                 message_class=snapshot.message_class),
                source=source, member_no=member_no)).decode()
            for member_no, _, _, _ in part
        ]
        count = await session.scalar(text(FAN_OUT_SQL), {
            "members": [r[0] for r in part], "keys": [r[1] for r in part],
            "hashes": [request_hash({"member_no": r[0], "purpose": purpose, "data": r[2], "send_at": None})
                       for r in part],
            "data": [r[3].decode() for r in part], "events": events,
            "purpose": snapshot.name, "klass": snapshot.message_class, "now": now,
        })
        written += int(count or 0)
    if written:
        # The rows bypass emit(): wake the relay as its commit hook would.
        if session.info.get(WAKE_KEY) is None:
            await session.execute(text(notify_sql()))
        session.info[WRITTEN_KEY] = True
    return written


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


