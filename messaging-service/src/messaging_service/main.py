"""messaging-service app factory."""

from dataclasses import replace

from fastapi import FastAPI

from messaging_service import scheduler
from messaging_service.auto_replies.router import admin_router as auto_replies_admin
from messaging_service.auto_replies.router import internal_router as auto_replies_internal
from messaging_service.broadcasts.router import admin_router as broadcasts_admin
from messaging_service.clock.router import internal_router as clock_internal
from messaging_service.config import MessagingSettings
from messaging_service.deps import shutdown, startup
from messaging_service.handlers import consumers
from messaging_service.ledger.router import admin_router as reach_admin
from messaging_service.messages.router import admin_router as messages_admin
from messaging_service.messages.router import internal_router as messages_internal
from messaging_service.purposes.router import admin_router as purposes_admin
from messaging_service.templates.router import admin_router as templates_admin
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="messaging",
    title="Qunyun messaging-service",
    routers=[
        auto_replies_admin,
        auto_replies_internal,
        templates_admin,
        purposes_admin,
        messages_admin,
        messages_internal,
        reach_admin,
        broadcasts_admin,
        clock_internal,
    ],
    consumers=consumers,
    on_startup=[startup],
    on_shutdown=[shutdown],
    background=[scheduler.run],
    # The send hot path (messages/fast.py); create_app sizes it from MESSAGING_DRIVER_POOL_SIZE.
    driver_pool_size=20,
)


def create_app(settings: MessagingSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    settings = settings or load_settings(MessagingSettings)
    return create_service_app(replace(DEFINITION, driver_pool_size=settings.driver_pool_size), settings)
