"""The test clock of non-production systems (never routed by the gateway; refused in production)."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from messaging_service import scheduler
from messaging_service.deps import ClockDep, RuntimeDep
from shared.auth import InternalCallerDep
from shared.errors import Invalid, NotFound

internal_router = APIRouter(prefix="/internal/test", tags=["internal"], include_in_schema=False)


class ClockSet(BaseModel):
    """Where the service's clock should stand (null: back to real time)."""

    now: datetime | None = Field(None, description="timezone-aware")


class ClockRead(BaseModel):
    """The service's clock."""

    now: datetime
    offset_seconds: float


def _test_only(runtime: RuntimeDep) -> None:
    if runtime.settings.environment == "production":
        raise NotFound("Not found.", slug="not-found")


@internal_router.put("/clock")
async def set_clock(body: ClockSet, _: InternalCallerDep, runtime: RuntimeDep, clock: ClockDep) -> ClockRead:
    """Move this process's clock (tests play quiet hours and 48 h windows in seconds)."""
    _test_only(runtime)
    if body.now is None:
        clock.offset = clock.offset * 0
    else:
        if body.now.tzinfo is None:
            raise Invalid("now 必须带时区。", slug="naive-datetime")
        clock.offset += body.now - clock.now()
    return ClockRead(now=clock.now(), offset_seconds=clock.offset.total_seconds())


@internal_router.post("/scheduler-tick")
async def scheduler_tick(_: InternalCallerDep, runtime: RuntimeDep, clock: ClockDep) -> ClockRead:
    """Run one scheduler pass now instead of waiting for the interval."""
    _test_only(runtime)
    await scheduler.tick(runtime)
    return ClockRead(now=clock.now(), offset_seconds=clock.offset.total_seconds())
