"""Server time for the mini-program, and the test clock of non-production systems.

Check-in deadlines are judged by the server's clock in the period's time
zone; the client shows countdowns from this rather than the phone's clock.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel, Field

from campaign_service import scheduler
from campaign_service.deps import ClockDep, RuntimeDep
from shared.auth import CurrentMember, InternalCallerDep
from shared.errors import Invalid, NotFound

router = APIRouter(prefix="/mp/v1", tags=["clock"])
# Never routed by the gateway; refused outright in production.
internal_router = APIRouter(prefix="/internal/test", tags=["internal"], include_in_schema=False)


class ServerTimeRead(BaseModel):
    """The server's current time, in UTC and in the campaign time zone."""

    now: datetime
    local: datetime
    timezone: str


class ClockSet(BaseModel):
    """Where the service's clock should stand (null: back to real time)."""

    now: datetime | None = Field(None, description="timezone-aware")


class ClockRead(BaseModel):
    """The service's clock."""

    now: datetime
    offset_seconds: float


@router.get("/server-time")
async def server_time(_: CurrentMember, clock: ClockDep) -> ServerTimeRead:
    """The server clock, for countdowns to check-in deadlines."""
    now = clock.now()
    zone = "Asia/Shanghai"
    return ServerTimeRead(now=now, local=now.astimezone(ZoneInfo(zone)), timezone=zone)


def _test_only(runtime: RuntimeDep) -> None:
    if runtime.settings.environment == "production":
        raise NotFound("Not found.", slug="not-found")


@internal_router.put("/clock")
async def set_clock(body: ClockSet, _: InternalCallerDep, runtime: RuntimeDep, clock: ClockDep) -> ClockRead:
    """Move this process's clock (end-to-end tests play weeks in minutes)."""
    _test_only(runtime)
    if body.now is None:
        clock.offset = clock.offset * 0
    else:
        if body.now.tzinfo is None:
            raise Invalid("now must be timezone-aware", slug="naive-datetime")
        clock.offset += body.now - clock.now()
    return ClockRead(now=clock.now(), offset_seconds=clock.offset.total_seconds())


@internal_router.post("/scheduler-tick")
async def scheduler_tick(_: InternalCallerDep, runtime: RuntimeDep) -> ClockRead:
    """Run one scheduler pass now instead of waiting for the interval."""
    _test_only(runtime)
    await scheduler.tick(runtime)
    clock = runtime.extras["clock"]
    return ClockRead(now=clock.now(), offset_seconds=clock.offset.total_seconds())
