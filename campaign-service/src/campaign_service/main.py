"""campaign-service app factory."""

from fastapi import FastAPI

from campaign_service.clock.router import router as clock_router
from campaign_service.config import CampaignSettings
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="campaign",
    title="Qunyun campaign-service",
    routers=[clock_router],
)


def create_app(settings: CampaignSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(CampaignSettings))
