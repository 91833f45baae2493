"""Gateway settings (prefix ``GATEWAY_``)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

ROUTED_SERVICES = ("identity", "campaign", "tagging", "messaging", "metrics")


class GatewaySettings(ServiceSettings):
    """Settings of the gateway."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = 8000
    max_body_bytes: int = 1024 * 1024
    upstream_timeout_seconds: float = 15.0
    upstream_max_connections: int = 500
    # Data format configured for the mini-program's message push: xml, json,
    # or auto (sniffed per request).
    mp_push_format: Literal["xml", "json", "auto"] = "auto"
    # Activity items (POST /mp/v1/activity) one member may send per minute;
    # an in-process token bucket per gateway process (0 turns it off).
    activity_items_per_minute: int = 600
    # How often the WeChat Pay platform certificates are downloaded again (through campaign, which
    # holds the merchant key), so a rotation is known before the first notification signed with it;
    # a notification with an unknown serial still asks at once. 0 turns the schedule off.
    pay_platform_keys_refresh_seconds: float = Field(3600.0, ge=0)
