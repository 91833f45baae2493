"""tagging-service settings (prefix ``TAGGING_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TaggingSettings(ServiceSettings):
    """Settings of the tagging service."""

    model_config = SettingsConfigDict(env_prefix="TAGGING_", extra="ignore", frozen=True)

    service_name: str = "tagging"
    port: int = 8103
    # How often every process reads the index change log (segment counts follow within this).
    index_poll_seconds: float = Field(0.2, gt=0)
    # How often the worker removes expired member tags, prunes the change log and runs the rules.
    sweep_seconds: float = Field(5.0, gt=0)
    # Local day of activity and check-in facts.
    timezone: str = "Asia/Shanghai"
    # Staff roles that see members' full phone numbers in segment exports (others see them masked);
    # the same rule as identity's IDENTITY_STAFF_PHONE_ROLES.
    staff_phone_roles: list[str] = Field(default_factory=lambda: ["admin"])
    # Largest CSV accepted by the member imports.
    import_max_bytes: int = Field(2 * 1024 * 1024, ge=1024)
