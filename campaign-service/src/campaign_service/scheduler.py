"""The periodic job: expire unpaid orders, start and close periods, send due refunds, renew temporary QR codes.

Every step locks what it works on with ``SKIP LOCKED`` so several replicas can
run it at once without doing anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from campaign_service.channels.service import renew_expiring_codes
from campaign_service.clock.service import Clock
from campaign_service.deps import settings_of
from campaign_service.lifecycle.payments import expire_one
from campaign_service.lifecycle.periods import close_ended_periods, start_due_periods
from campaign_service.settlement.service import issue_due_refunds
from shared.db import unit_of_work
from shared.runtime import ServiceRuntime

log = structlog.get_logger("campaign.scheduler")


async def tick(runtime: ServiceRuntime) -> None:
    """One pass of every periodic duty, after any pass of this process still under way.

    The loop below and ``POST /internal/test/scheduler-tick`` both call it. Overlapping passes skip
    each other's locked rows (as other replicas do), so a pass asked for while the loop's was half-way
    would return before that work was committed. Run one after the other, a pass that returns has
    seen everything that was due.
    """
    lock = runtime.extras.setdefault("scheduler_pass", asyncio.Lock())
    async with lock:
        await _pass(runtime)


async def _pass(runtime: ServiceRuntime) -> None:
    clock: Clock = runtime.extras["clock"]
    settings = settings_of(runtime)
    pay = runtime.extras.get("pay")
    for _ in range(500):
        async with unit_of_work(runtime.session_factory) as session:
            if not await expire_one(session, pay, clock.now()):
                break
    async with unit_of_work(runtime.session_factory) as session:
        await start_due_periods(session, clock.now())
    async with unit_of_work(runtime.session_factory) as session:
        await close_ended_periods(session, clock.now())
    await issue_due_refunds(
        runtime.session_factory,
        pay,
        clock.now(),
        max_attempts=settings.refund_max_attempts,
        retry_base=settings.refund_retry_base_seconds,
    )
    codes = runtime.extras.get("codes")
    if codes is not None:
        async with unit_of_work(runtime.session_factory) as session:
            await renew_expiring_codes(session, codes, clock.now())


async def run(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Run :func:`tick` every ``scheduler_interval_seconds`` until stopped."""
    interval = settings_of(runtime).scheduler_interval_seconds
    while not stop.is_set():
        try:
            await tick(runtime)
        except Exception as exc:
            log.warning("scheduler_tick_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
