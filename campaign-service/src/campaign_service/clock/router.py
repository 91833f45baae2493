"""Server time for the mini-program.

Check-in deadlines are judged by the server's clock in the period's time
zone; the client shows countdowns from this rather than the phone's clock.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel

from shared.auth import CurrentMember

router = APIRouter(prefix="/mp/v1", tags=["clock"])


class ServerTimeRead(BaseModel):
    """The server's current time, in UTC and in the campaign time zone."""

    now: datetime
    local: datetime
    timezone: str


@router.get("/server-time")
async def server_time(_: CurrentMember) -> ServerTimeRead:
    """The server clock, for countdowns to check-in deadlines."""
    now = datetime.now(UTC)
    zone = "Asia/Shanghai"
    return ServerTimeRead(now=now, local=now.astimezone(ZoneInfo(zone)), timezone=zone)
