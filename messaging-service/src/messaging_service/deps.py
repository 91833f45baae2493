"""Dependencies every messaging router uses: the runtime's clock, WeChat client and dispatcher."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import aiohttp
from fastapi import Depends, Request

from messaging_service.clock.service import Clock
from messaging_service.config import MessagingSettings
from shared.http import create_aiohttp_session
from shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from messaging_service.messages.dispatch import Dispatcher


async def startup(runtime: ServiceRuntime) -> None:
    """Create the service-owned objects (``runtime.extras``)."""
    from messaging_service.messages.dispatch import Dispatcher
    from messaging_service.wechat import IdentityTokens, MessagingApi

    settings = settings_of(runtime)
    runtime.extras.setdefault("clock", Clock(runtime.settings.test_clock_file))
    runtime.extras.setdefault("wechat", MessagingApi(_wechat_session(runtime), settings.wechat_api_base))
    runtime.extras.setdefault("tokens", IdentityTokens(runtime.client_for("identity")))
    runtime.extras.setdefault("tagging", runtime.client_for("tagging"))
    runtime.extras.setdefault("dispatcher", Dispatcher(runtime))
    if runtime.driver_pool is not None and settings.fast_path:
        from messaging_service.messages.fast import FastPath

        runtime.extras.setdefault("fast", FastPath(runtime, runtime.extras["dispatcher"]))


def _wechat_session(runtime: ServiceRuntime) -> aiohttp.ClientSession:
    """An aiohttp session for the send hot path (closed on shutdown)."""
    settings = settings_of(runtime)
    session = create_aiohttp_session(max_connections=200, read_timeout=settings.wechat_timeout_seconds)
    runtime.extras["wechat_session"] = session
    return session


async def shutdown(runtime: ServiceRuntime) -> None:
    """Close what :func:`startup` opened."""
    fast = runtime.extras.get("fast")
    if fast is not None:
        await fast.stop()
    session = runtime.extras.get("wechat_session")
    if session is not None:
        await session.close()


def settings_of(runtime: ServiceRuntime) -> MessagingSettings:
    """The runtime's settings, typed."""
    return cast(MessagingSettings, runtime.settings)


async def _runtime(request: Request) -> ServiceRuntime:
    return cast(ServiceRuntime, request.app.state.runtime)


RuntimeDep = Annotated[ServiceRuntime, Depends(_runtime)]


async def _clock(runtime: RuntimeDep) -> Clock:
    return cast(Clock, runtime.extras["clock"])


ClockDep = Annotated[Clock, Depends(_clock)]


async def _dispatcher(runtime: RuntimeDep) -> Dispatcher:
    return cast("Dispatcher", runtime.extras["dispatcher"])


DispatcherDep = Annotated["Dispatcher", Depends(_dispatcher)]
