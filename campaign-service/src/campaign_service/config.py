"""campaign-service settings (prefix ``CAMPAIGN_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CampaignSettings(ServiceSettings):
    """Settings of the campaign service."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore", frozen=True)

    service_name: str = "campaign"
    port: int = 8102
