"""messaging-service app factory."""

from fastapi import FastAPI

from messaging_service.auto_replies.router import admin_router as auto_replies_admin
from messaging_service.auto_replies.router import internal_router as auto_replies_internal
from messaging_service.config import MessagingSettings
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="messaging",
    title="Qunyun messaging-service",
    routers=[auto_replies_admin, auto_replies_internal],
)


def create_app(settings: MessagingSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(MessagingSettings))
