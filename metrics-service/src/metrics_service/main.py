"""metrics-service app factory."""

from fastapi import FastAPI

from metrics_service.activity.router import admin_router as activity_admin
from metrics_service.campaigns.router import admin_router as campaigns_admin
from metrics_service.communities.router import admin_router as communities_admin
from metrics_service.config import MetricsSettings
from metrics_service.ingest.consumer import run_consumers
from metrics_service.overview.router import admin_router as overview_admin
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="metrics",
    title="Qunyun metrics-service",
    routers=[overview_admin, activity_admin, campaigns_admin, communities_admin],
    # The consumers run as a background job of the worker: they batch the
    # projection writes (ingest.consumer), which the shared runner does not.
    background=[run_consumers],
)


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(MetricsSettings))
