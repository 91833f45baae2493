"""Dependencies of the identity routes: the runtime and the service-owned extras.

The extras (WeChat client, field cipher, token owner) are built once in the
start-up hook (:mod:`identity_service.startup`) and live in ``runtime.extras``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request

from identity_service.apps import WeChatApps
from identity_service.config import IdentitySettings
from identity_service.crypto import FieldCipher
from identity_service.wechat_calls import with_retries
from identity_service.wechat_tokens.service import AccessTokenService
from shared.auth import InternalCaller, InternalCallerDep
from shared.runtime import ServiceRuntime
from shared.wechat.api import WeChatApi

EXTRAS_KEY = "identity"

T = TypeVar("T")


@dataclass(frozen=True)
class IdentityContext:
    """What identity's code needs beyond a database session."""

    settings: IdentitySettings
    api: WeChatApi
    apps: WeChatApps
    cipher: FieldCipher
    access_tokens: AccessTokenService

    @property
    def retry_after(self) -> int:
        """Retry-After (seconds) for WeChat rate limits."""
        return self.settings.wechat_rate_limit_retry_after

    async def call_wechat(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a token-less WeChat call with the configured bounded retries."""
        return await with_retries(
            call, attempts=self.settings.wechat_attempts, delay=self.settings.wechat_retry_delay
        )


def context_of(runtime: ServiceRuntime) -> IdentityContext:
    """The identity context stored on a runtime by the start-up hook."""
    return cast(IdentityContext, runtime.extras[EXTRAS_KEY])


async def _runtime(request: Request) -> ServiceRuntime:
    return cast(ServiceRuntime, request.app.state.runtime)


RuntimeDep = Annotated[ServiceRuntime, Depends(_runtime)]


async def _context(runtime: RuntimeDep) -> IdentityContext:
    return context_of(runtime)


ContextDep = Annotated[IdentityContext, Depends(_context)]


async def _settings(ctx: ContextDep) -> IdentitySettings:
    return ctx.settings


async def _wechat_api(ctx: ContextDep) -> WeChatApi:
    return ctx.api


async def _cipher(ctx: ContextDep) -> FieldCipher:
    return ctx.cipher


async def _access_tokens(ctx: ContextDep) -> AccessTokenService:
    return ctx.access_tokens


SettingsDep = Annotated[IdentitySettings, Depends(_settings)]
WeChatApiDep = Annotated[WeChatApi, Depends(_wechat_api)]
CipherDep = Annotated[FieldCipher, Depends(_cipher)]
AccessTokensDep = Annotated[AccessTokenService, Depends(_access_tokens)]


async def _require_internal(caller: InternalCallerDep) -> InternalCaller:
    return caller


# Router-level guard: every identity route needs at least a valid internal token.
require_internal = Depends(_require_internal)
