"""The test clock of non-production systems (never routed by the gateway; refused in production)."""

from messaging_service import scheduler
from shared.clock_routes import clock_router

internal_router = clock_router(tick=scheduler.tick)
