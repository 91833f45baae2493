"""Start-up and shutdown hooks: the service-owned extras, and the first admin."""

from __future__ import annotations

from datetime import timedelta

import structlog

from identity_service.apps import WeChatApps
from identity_service.config import IdentitySettings
from identity_service.crypto import FieldCipher
from identity_service.deps import EXTRAS_KEY, IdentityContext
from identity_service.staff import repository as staff_repository
from identity_service.staff.service import ensure_admin
from identity_service.wechat_tokens.service import AccessTokenService
from shared.http import create_aiohttp_session
from shared.runtime import ServiceRuntime
from shared.wechat.api import WeChatApi

log = structlog.get_logger("identity.startup")

WECHAT_HTTP_KEY = "wechat_http"
WECHAT_KEEPALIVE_SECONDS = 15


async def build_context(runtime: ServiceRuntime) -> None:
    """Create the WeChat client, the field cipher and the access-token owner."""
    settings = runtime.settings
    assert isinstance(settings, IdentitySettings)
    # WeChat gets its own pool and a shorter timeout than service-to-service
    # calls. (configure_logging keeps the HTTP clients' request lines out of the
    # logs: WeChat URLs carry the app secret, login codes and access tokens.)
    client = create_aiohttp_session(
        max_connections=settings.wechat_max_connections, read_timeout=settings.wechat_timeout_seconds,
        # WeChat does not publish its idle timeout: aiohttp's default. A call that
        # meets a closed connection fails as "unavailable" and is retried.
        keepalive_seconds=WECHAT_KEEPALIVE_SECONDS,
    )
    runtime.extras[WECHAT_HTTP_KEY] = client
    api = WeChatApi(client, settings.wechat_api_base)
    apps = WeChatApps.from_settings(settings)
    runtime.extras[EXTRAS_KEY] = IdentityContext(
        settings=settings,
        api=api,
        apps=apps,
        cipher=FieldCipher(settings.verification_keys()),
        access_tokens=AccessTokenService(
            session_factory=runtime.session_factory,
            api=api,
            apps=apps,
            margin=timedelta(seconds=settings.token_refresh_margin_seconds),
            endpoint=settings.token_endpoint,
            attempts=settings.wechat_attempts,
            retry_delay=settings.wechat_retry_delay,
            retry_after=settings.wechat_rate_limit_retry_after,
        ),
    )


async def create_first_admin(runtime: ServiceRuntime) -> None:
    """Create QUNYUN_ADMIN_USERNAME with QUNYUN_ADMIN_PASSWORD if that account is absent."""
    settings = runtime.settings
    if settings.admin_password is None:
        async with runtime.session_factory() as session:
            if not await staff_repository.any_admin(session):
                log.warning(
                    "no_admin_account",
                    hint="set QUNYUN_ADMIN_PASSWORD or run `python -m identity_service.cli create-admin`",
                )
        return
    await ensure_admin(
        runtime.session_factory,
        username=settings.admin_username,
        password=settings.admin_password.get_secret_value(),
    )


async def close_context(runtime: ServiceRuntime) -> None:
    """Close the WeChat connection pool."""
    client = runtime.extras.pop(WECHAT_HTTP_KEY, None)
    if client is not None:
        await client.close()
