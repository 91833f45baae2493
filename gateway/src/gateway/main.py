"""Gateway app factory."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

from gateway.activity.retention import prune_activity_claims
from gateway.activity.router import SCHEMAS as ACTIVITY_SCHEMAS
from gateway.activity.router import router as activity_router
from gateway.callbacks.apps import push_apps
from gateway.callbacks.pay_router import router as pay_router
from gateway.callbacks.platform_keys import PlatformKeyLearner, refresh_platform_keys
from gateway.callbacks.push_router import router as push_router
from gateway.callbacks.replies import ReplyRules, refresh_rules
from gateway.clients.upstream import InternalTokenCache, create_upstream_client
from gateway.config import ROUTED_SERVICES, GatewaySettings
from gateway.revocations.service import Revocations, consumers, refresh_revocations
from gateway.routes.console import router as console_router
from gateway.routes.docs import docs_router
from gateway.routes.proxy import router as proxy_router
from shared.clock import Clock
from shared.runtime import ServiceDefinition, ServiceRuntime, create_service_app
from shared.settings import load_settings
from shared.wechat.pay import platform_public_keys


async def _start(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    runtime.extras["upstream"] = create_upstream_client(
        timeout=settings.upstream_timeout_seconds, max_connections=settings.upstream_max_connections
    )
    runtime.extras["upstream_urls"] = {name: settings.url_of(name) for name in ROUTED_SERVICES}
    runtime.extras["token_cache"] = InternalTokenCache(runtime.tokens)
    runtime.extras["push_apps"] = push_apps(settings)
    runtime.extras["reply_rules"] = ReplyRules()
    runtime.extras["revocations"] = Revocations()
    runtime.extras["clock"] = Clock(settings.test_clock_file)
    runtime.extras["pay_platform_keys"] = _platform_keys(settings)
    runtime.extras["pay_key_learner"] = PlatformKeyLearner(runtime.extras["pay_platform_keys"])


def _platform_keys(settings: GatewaySettings) -> dict[str, object]:
    """Platform keys by serial; empty when pay is not configured (notifications answer 503)."""
    cert = settings.pay_platform_cert_file
    public = settings.pay_platform_public_key_file
    if cert is None and public is None:
        return {}
    return dict(platform_public_keys(
        cert_file=cert if cert and cert.exists() else None,
        public_key_file=public if public and public.exists() else None,
        public_key_id=settings.pay_platform_key_id,
    ))


async def _stop(runtime: ServiceRuntime) -> None:
    await runtime.extras["upstream"].close()


async def _services_ready(runtime: ServiceRuntime) -> dict[str, bool]:
    """Every routed service's own /readyz (the gateway is ready when all are)."""
    client = runtime.http

    async def check(name: str) -> bool:
        try:
            response = await client.get(runtime.settings.url_of(name) + "/readyz", timeout=2.5)
            return response.status_code == 200
        except Exception:
            return False

    results = await asyncio.gather(*(check(name) for name in ROUTED_SERVICES))
    return dict(zip(ROUTED_SERVICES, results, strict=True))


def definition(settings: GatewaySettings) -> ServiceDefinition:
    """The gateway's service definition."""
    return ServiceDefinition(
        name="gateway",
        title="Qunyun API",
        routers=[docs_router, activity_router, push_router, pay_router, proxy_router, console_router],
        on_startup=[_start],
        on_shutdown=[_stop],
        readiness=_services_ready,
        consumers=consumers,
        background=[refresh_rules, refresh_revocations, prune_activity_claims, refresh_platform_keys],
        max_body_bytes=settings.max_body_bytes,
        own_openapi=False,
        driver_pool_size=settings.db_pool_size,
    )


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; settings are read from the environment when not given."""
    settings = settings or load_settings(GatewaySettings)
    app = create_service_app(definition(settings), settings)
    _document_own_routes(app)
    return app


def _document_own_routes(app: FastAPI) -> None:
    """The gateway's own document (its public routes, merged into /openapi.json by routes.docs):
    the schemas its routes refer to by hand, and the member token scheme."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(ACTIVITY_SCHEMAS)
        components.setdefault("securitySchemes", {})["memberToken"] = {
            "type": "http", "scheme": "bearer", "description": "Mini-program session token (POST /mp/v1/session)",
        }
        return document

    app.openapi = openapi  # type: ignore[method-assign]
