"""metrics-service settings (prefix ``METRICS_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    """Settings of the metrics service."""

    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore", frozen=True)

    service_name: str = "metrics"
    port: int = 8105
    timezone: str = "Asia/Shanghai"
