"""tagging-service app factory."""

from fastapi import FastAPI

from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings
from tagging_service.config import TaggingSettings

DEFINITION = ServiceDefinition(
    name="tagging",
    title="Qunyun tagging-service",
)


def create_app(settings: TaggingSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(TaggingSettings))
