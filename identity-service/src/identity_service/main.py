"""identity-service app factory."""

from fastapi import FastAPI

from identity_service.config import IdentitySettings
from identity_service.followers.handlers import consumers
from identity_service.members import router as members
from identity_service.phones import router as phones
from identity_service.phones.republish import republish_in_worker
from identity_service.sessions import router as sessions
from identity_service.staff import router as staff
from identity_service.startup import build_context, close_context, create_first_admin
from identity_service.wechat_tokens import router as wechat_tokens
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="identity",
    title="Qunyun identity-service",
    routers=[
        sessions.mp_router,
        members.mp_router,
        phones.mp_router,
        staff.session_router,
        staff.admin_router,
        members.admin_router,
        members.internal_router,
        phones.internal_router,
        wechat_tokens.internal_router,
    ],
    consumers=consumers,
    on_startup=[build_context, create_first_admin],
    on_shutdown=[close_context],
    # Phones bound before phone_bound carried the sealed number (phones.republish).
    background=[republish_in_worker],
    # Returning members' logins (sessions.repository.record_returning_login).
    driver_pool_size=10,
)


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(IdentitySettings))
