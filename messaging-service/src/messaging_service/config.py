"""messaging-service settings (prefix ``MESSAGING_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    """Settings of the messaging service."""

    model_config = SettingsConfigDict(env_prefix="MESSAGING_", extra="ignore", frozen=True)

    service_name: str = "messaging"
    port: int = 8104
