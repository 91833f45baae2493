"""campaign-service app factory."""

from fastapi import FastAPI

from campaign_service import scheduler
from campaign_service.channels.router import admin_router as channels_admin
from campaign_service.checkins.router import admin_router as checkins_admin
from campaign_service.checkins.router import mp_router as checkins_mp
from campaign_service.clock.router import internal_router as clock_internal
from campaign_service.clock.router import router as clock_router
from campaign_service.communities.router import admin_router as communities_admin
from campaign_service.communities.router import mp_router as communities_mp
from campaign_service.config import CampaignSettings
from campaign_service.deps import startup
from campaign_service.handlers import consumers
from campaign_service.lifecycle.router import admin_router as lifecycle_admin
from campaign_service.lifecycle.router import mp_router as lifecycle_mp
from campaign_service.payments.router import internal_router as payments_internal
from campaign_service.periods.router import admin_router as periods_admin
from campaign_service.periods.router import mp_router as periods_mp
from campaign_service.queries.router import admin_router as queries_admin
from campaign_service.queries.router import mp_router as queries_mp
from campaign_service.referrals.router import admin_router as referrals_admin
from campaign_service.referrals.router import mp_router as referrals_mp
from campaign_service.registrations.router import admin_router as registrations_admin
from campaign_service.registrations.router import mp_router as registrations_mp
from campaign_service.settlement.router import admin_router as settlement_admin
from shared.runtime import ServiceDefinition, create_service_app
from shared.settings import load_settings

DEFINITION = ServiceDefinition(
    name="campaign",
    title="Qunyun campaign-service",
    routers=[
        clock_router,
        periods_admin,
        periods_mp,
        lifecycle_admin,
        registrations_mp,
        registrations_admin,
        lifecycle_mp,
        queries_mp,
        checkins_mp,
        checkins_admin,
        settlement_admin,
        queries_admin,
        channels_admin,
        referrals_mp,
        referrals_admin,
        communities_mp,
        communities_admin,
        clock_internal,
        payments_internal,
    ],
    consumers=consumers,
    on_startup=[startup],
    background=[scheduler.run],
    # Registration for a free period is one statement on the plain asyncpg pool (registrations.repository).
    driver_pool_size=10,
)


def create_app(settings: CampaignSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(CampaignSettings))
