"""metrics-service app factory."""

from fastapi import FastAPI

from metrics_service.config import MetricsSettings
from metrics_service.overview.handlers import consumers
from metrics_service.overview.router import admin_router
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="metrics",
    title="Qunyun metrics-service",
    routers=[admin_router],
    consumers=consumers,
)


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(MetricsSettings))
