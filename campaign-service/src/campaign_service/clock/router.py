"""Server time for the mini-program, and the test clock of non-production systems.

Check-in deadlines are judged by the server's clock in the period's time
zone; the client shows countdowns from this rather than the phone's clock.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel

from campaign_service import scheduler
from campaign_service.deps import ClockDep
from shared.auth import CurrentMember
from shared.clock_routes import clock_router

router = APIRouter(prefix="/mp/v1", tags=["clock"])


class ServerTimeRead(BaseModel):
    """The server's current time, in UTC and in the campaign time zone."""

    now: datetime
    local: datetime
    timezone: str


@router.get("/server-time")
async def server_time(_: CurrentMember, clock: ClockDep) -> ServerTimeRead:
    """The server clock, for countdowns to check-in deadlines."""
    now = clock.now()
    zone = "Asia/Shanghai"
    return ServerTimeRead(now=now, local=now.astimezone(ZoneInfo(zone)), timezone=zone)


# PUT /internal/test/clock and POST /internal/test/scheduler-tick (shared.clock_routes).
internal_router = clock_router(tick=scheduler.tick)
