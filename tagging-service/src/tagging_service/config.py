"""tagging-service settings (prefix ``TAGGING_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TaggingSettings(ServiceSettings):
    """Settings of the tagging service."""

    model_config = SettingsConfigDict(env_prefix="TAGGING_", extra="ignore", frozen=True)

    service_name: str = "tagging"
    port: int = 8103
