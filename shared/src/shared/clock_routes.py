"""The internal test-clock endpoints of a service: move the shared clock, run one scheduler pass.

``PUT /internal/test/clock`` moves the clock every process of a test system
shares (:mod:`shared.clock`); ``POST /internal/test/scheduler-tick`` runs the
service's periodic duties at once instead of waiting for their interval.
Never routed by the gateway, internal token only, and absent in production
(404).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from shared.auth import InternalCallerDep
from shared.clock import SETTLE_SECONDS, Clock
from shared.errors import Invalid, NotFound
from shared.runtime import ServiceRuntime


class ClockSet(BaseModel):
    """Where the clock should stand (null: back to real time)."""

    now: datetime | None = Field(None, description="timezone-aware")


class ClockRead(BaseModel):
    """The clock."""

    now: datetime
    offset_seconds: float


def clock_router(*, tick: Callable[[ServiceRuntime], Awaitable[Any]]) -> APIRouter:
    """The two endpoints, for a service whose clock is ``runtime.extras['clock']`` and scheduler pass ``tick``."""
    router = APIRouter(prefix="/internal/test", tags=["internal"], include_in_schema=False)

    def _context(request: Request) -> tuple[ServiceRuntime, Clock]:
        runtime: ServiceRuntime = request.app.state.runtime
        if runtime.settings.environment == "production":
            raise NotFound("Not found.", slug="not-found")
        return runtime, runtime.extras["clock"]

    def _read(clock: Clock) -> ClockRead:
        return ClockRead(now=clock.now(), offset_seconds=clock.offset.total_seconds())

    @router.put("/clock")
    async def set_clock(body: ClockSet, caller: InternalCallerDep, request: Request) -> ClockRead:
        """Move the clock of every process of this system (tests play weeks in minutes).

        Answers once every process reads the new time: a request sent after the answer happens at it.
        """
        _, clock = _context(request)
        if body.now is not None and body.now.tzinfo is None:
            raise Invalid("now 必须带时区。", slug="naive-datetime")
        clock.set(body.now)
        await asyncio.sleep(SETTLE_SECONDS)
        return _read(clock)

    @router.post("/scheduler-tick")
    async def scheduler_tick(caller: InternalCallerDep, request: Request) -> ClockRead:
        """Run one scheduler pass now instead of waiting for the interval."""
        runtime, clock = _context(request)
        await tick(runtime)
        return _read(clock)

    return router
