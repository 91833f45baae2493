"""campaign-service settings (prefix ``CAMPAIGN_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CampaignSettings(ServiceSettings):
    """Settings of the campaign service."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore", frozen=True)

    service_name: str = "campaign"
    port: int = 8102
    default_timezone: str = "Asia/Shanghai"
    # An unpaid order holds its place this long, then expires and frees it.
    order_ttl_seconds: int = Field(900, ge=60)
    # How often the scheduler looks for expired orders, periods to close and refunds to send.
    scheduler_interval_seconds: float = Field(15.0, gt=0)
    refund_max_attempts: int = Field(8, ge=1)
    refund_retry_base_seconds: float = Field(30.0, ge=0)
