"""messaging-service settings (prefix ``MESSAGING_``)."""

from datetime import time
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    """Settings of the messaging service."""

    model_config = SettingsConfigDict(env_prefix="MESSAGING_", extra="ignore", frozen=True)

    service_name: str = "messaging"
    port: int = 8104
    # Caps and quiet hours are judged in this zone's calendar (Asia/Shanghai days).
    timezone: str = "Asia/Shanghai"
    # Marketing sends per member per local day, across every channel (a purpose may set its own).
    daily_marketing_cap: int = Field(2, ge=0)
    quiet_start: time = time(21, 30)
    quiet_end: time = time(8, 0)
    # A marketing send held by quiet hours is dropped when it would go out later than this.
    max_staleness_minutes: int = Field(12 * 60, ge=1)
    # Transient WeChat errors (-1, 45009): attempts in all and the first backoff.
    send_attempts: int = Field(3, ge=1, le=10)
    retry_base_seconds: float = Field(0.2, ge=0)
    # A WeChat call that takes longer is recorded as ``unknown`` and never resent.
    wechat_timeout_seconds: float = Field(5.0, gt=0)
    # How often held messages and running broadcasts are looked at.
    scheduler_interval_seconds: float = Field(1.0, gt=0)
    # Check-in reminders go out from this local time to registrants who have not checked in today.
    checkin_reminder_time: time = time(20, 0)
    # Sends on the plain asyncpg pool (one routing statement, batched records); false: every send on the ORM path.
    fast_path: bool = True
    # The plain internal send answered below FastAPI's routing (messages/asgi.py); false: every send by the route.
    send_below_routing: bool = True
    # Connections of that pool.
    driver_pool_size: int = Field(20, ge=1, le=200)
    # A subscribe message's ``miniprogram_state``: which version of the mini-program a tap opens. Only
    # WeChat's three values are accepted at start, so a typo is not a 40003 on every send.
    mp_state: Literal["developer", "trial", "formal"] = "formal"
