"""messaging-service app factory."""

import gc
from dataclasses import replace

from fastapi import FastAPI
from starlette.middleware import Middleware

from messaging_service import scheduler
from messaging_service.auto_replies.router import admin_router as auto_replies_admin
from messaging_service.auto_replies.router import internal_router as auto_replies_internal
from messaging_service.broadcasts.router import admin_router as broadcasts_admin
from messaging_service.clock.router import internal_router as clock_internal
from messaging_service.config import MessagingSettings
from messaging_service.deps import shutdown, startup
from messaging_service.handlers import consumers
from messaging_service.ledger.router import admin_router as reach_admin
from messaging_service.messages.asgi import SendFastPath
from messaging_service.messages.router import admin_router as messages_admin
from messaging_service.messages.router import internal_router as messages_internal
from messaging_service.purposes.router import admin_router as purposes_admin
from messaging_service.templates.router import admin_router as templates_admin
from shared.runtime import ServiceDefinition, ServiceRuntime, create_service_app
from shared.settings import load_settings

# Young objects a collection waits for (CPython's default is 700). Measured with gc callbacks at ~400 plain
# sends/s: with 700 the collector ran ~45 times a second for ~9 % of messaging's CPU, scanning the objects of the
# ~128 sends in flight (alive across several awaits) again and again; with 10,000 it ran about once in three
# seconds, below 1 % of the CPU: nearly all of a send's objects are freed by reference counting, and the young
# generation seldom fills. Cycles are still collected, only later; the start-up heap stays frozen (shared.runtime).
YOUNG_COLLECTION_THRESHOLD = (10_000, 20, 10)


async def collect_young_objects_less_often(_: ServiceRuntime) -> None:
    """Raise the collector's thresholds for this process (the app's heap is frozen after start-up)."""
    gc.set_threshold(*YOUNG_COLLECTION_THRESHOLD)


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
    on_startup=[startup, collect_young_objects_less_often],
    on_shutdown=[shutdown],
    background=[scheduler.run],
    # The send hot path (messages/fast.py); create_app sizes it from MESSAGING_DRIVER_POOL_SIZE.
    driver_pool_size=20,
)


def per_worker(settings: MessagingSettings) -> MessagingSettings:
    """Each of ``workers`` processes gets its share of the connection pools (rounded up).

    The pools are sized for the service as a whole: two workers with the full
    pools each ran PostgreSQL (one server for every service) out of connections
    in the contested benchmark.
    """
    workers = settings.workers
    if workers <= 1:
        return settings
    return settings.model_copy(update={
        "driver_pool_size": max(4, -(-settings.driver_pool_size // workers)),
        "db_pool_size": max(2, -(-settings.db_pool_size // workers)),
        "db_max_overflow": max(2, -(-settings.db_max_overflow // workers)),
    })


def create_app(settings: MessagingSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    settings = per_worker(settings or load_settings(MessagingSettings))
    app: FastAPI = create_service_app(replace(DEFINITION, driver_pool_size=settings.driver_pool_size), settings)
    if settings.fast_path and settings.send_below_routing:
        # Innermost of the middleware (inside the access log, metrics and body limit), before the routing.
        app.user_middleware.append(Middleware(SendFastPath, service_app=app))
    return app
