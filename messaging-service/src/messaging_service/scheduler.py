"""The periodic job: send held messages that are due, settle sends a crash interrupted, run broadcasts."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy import text

from messaging_service.automations.service import due_reminders, reminder_key, write_many
from messaging_service.clock.service import Clock
from messaging_service.deps import settings_of
from messaging_service.messages.dispatch import Dispatcher
from messaging_service.messages.policy import local_date
from shared.db import unit_of_work
from shared.runtime import ServiceRuntime

log = structlog.get_logger("messaging.scheduler")
BATCH = 200
DISPATCH_CONCURRENCY = 8


async def settle_interrupted(runtime: ServiceRuntime) -> int:
    """``sending`` for longer than any call can take: the process died mid-call; maybe sent, so ``unknown``."""
    s = settings_of(runtime)
    clock: Clock = runtime.extras["clock"]
    horizon = s.send_attempts * (s.wechat_timeout_seconds + s.retry_base_seconds * 8) + 30
    async with unit_of_work(runtime.session_factory) as session:
        result = await session.execute(
            text("""UPDATE messages SET status = 'unknown', reason = 'unknown_outcome', updated_at = :now
                    WHERE status = 'sending' AND updated_at < :before"""),
            {"now": clock.now(), "before": clock.now() - timedelta(seconds=horizon)},
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def due_messages(runtime: ServiceRuntime) -> list[int]:
    """Held messages whose time has come, and queued ones a crash left behind.

    A broadcast's queued messages are picked up only while it runs: the runner
    claims recipients ahead of sending, and those it had claimed when staff
    paused or cancelled the broadcast must wait for a resume, not go out 30 s
    later anyway.
    """
    clock: Clock = runtime.extras["clock"]
    now = clock.now()
    async with runtime.session_factory() as session:
        rows = await session.execute(
            text("""SELECT id FROM messages WHERE (status = 'held' AND hold_until <= :now)
                    OR (status = 'queued' AND updated_at < :stale
                        AND (broadcast_id IS NULL OR EXISTS (
                            SELECT 1 FROM broadcasts b WHERE b.id = messages.broadcast_id AND b.state = 'running')))
                    ORDER BY id LIMIT :n"""),
            {"now": now, "stale": now - timedelta(seconds=30), "n": BATCH},
        )
        return [int(r[0]) for r in rows]


async def write_reminders(runtime: ServiceRuntime) -> int:
    """Check-in reminders due now (once per member per local day), held for the next pass to route."""
    s = settings_of(runtime)
    clock: Clock = runtime.extras["clock"]
    now = clock.now()
    async with unit_of_work(runtime.session_factory) as session:
        day = local_date(now, s.timezone).isoformat()
        due = await due_reminders(session, now=now, zone=s.timezone, remind_at=s.checkin_reminder_time)
        # One statement for the lot; a member in two periods gets the first one's (one reminder a day).
        return await write_many(session, purpose="checkin.reminder", now=now, rows=[
            (member_no, reminder_key(member_no, day), {"period_id": period_id, "date": day})
            for period_id, member_no in due])


async def tick(runtime: ServiceRuntime) -> None:
    """One pass of every periodic duty."""
    from messaging_service.broadcasts.runner import run_broadcasts

    dispatcher: Dispatcher = runtime.extras["dispatcher"]
    await settle_interrupted(runtime)
    await write_reminders(runtime)
    gate = asyncio.Semaphore(DISPATCH_CONCURRENCY)

    async def dispatch(message_id: int) -> None:
        async with gate:
            await dispatcher.dispatch(message_id)

    # Each dispatch locks its own row; a few at a time (a period's start writes to all its registrants at once).
    results = await asyncio.gather(*(dispatch(i) for i in await due_messages(runtime)), return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):  # that message stays due: the next pass tries again
            log.warning("scheduled_send_failed", error=repr(result))
    await run_broadcasts(runtime)


async def run(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Tick every ``scheduler_interval_seconds`` until stopped."""
    interval = settings_of(runtime).scheduler_interval_seconds
    while not stop.is_set():
        try:
            await tick(runtime)
        except Exception as exc:
            log.warning("scheduler_tick_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
