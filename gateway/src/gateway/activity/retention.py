"""Dedupe claims of activity items are kept only as long as a retry could still be accepted.

An item more than 24 h old is refused (``at-too-old``), so a claim older than
that (plus the 5 min of clock skew allowed) can never stop a duplicate: the
background job deletes claims older than :data:`KEEP`, a few thousand rows
per statement so it never holds long locks.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, text

from shared.db import unit_of_work
from shared.runtime import ServiceRuntime

log = structlog.get_logger("gateway.activity")

KEEP = timedelta(hours=48)
EVERY_SECONDS = 600.0
BATCH = 5000

_PRUNE = text(
    "DELETE FROM received_activity WHERE ctid = ANY(ARRAY("
    "SELECT ctid FROM received_activity WHERE received_at < now() - make_interval(secs => :keep) LIMIT :batch))"
)


async def prune_once(runtime: ServiceRuntime) -> int:
    """Delete expired claims; how many."""
    removed = 0
    while True:
        async with unit_of_work(runtime.session_factory) as session:
            result = await session.execute(_PRUNE, {"keep": KEEP.total_seconds(), "batch": BATCH})
        # A DELETE answers a CursorResult (execute() is typed as the general Result).
        count = cast(CursorResult[Any], result).rowcount or 0
        removed += count
        if count < BATCH:
            return removed


async def prune_activity_claims(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Background job: forget dedupe claims no retry can still use."""
    while not stop.is_set():
        try:
            removed = await prune_once(runtime)
            if removed:
                log.info("activity_claims_pruned", removed=removed)
        except Exception as exc:  # database trouble: try again next round
            log.warning("activity_claims_prune_failed", error=repr(exc))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=EVERY_SECONDS)
