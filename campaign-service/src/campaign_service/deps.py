"""Dependencies every campaign router uses: the runtime's clock, pay client and member directory."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from campaign_service.channels.codes import ChannelCodes, IdentityTokens
from campaign_service.clock.service import Clock
from campaign_service.config import CampaignSettings
from campaign_service.members import IdentityDirectory, MemberDirectory
from campaign_service.payments.wechatpay import WeChatPayClient
from campaign_service.referrals.codes import invite_keys
from campaign_service.registrations.repository import FreeRegistrationBatches
from shared.runtime import ServiceRuntime
from shared.wechat.api import WeChatApi


async def startup(runtime: ServiceRuntime) -> None:
    """Create the service-owned objects (``runtime.extras``)."""
    runtime.extras.setdefault("clock", Clock(runtime.settings.test_clock_file))
    runtime.extras.setdefault("pay", WeChatPayClient.from_settings(runtime.settings, runtime.http))
    runtime.extras.setdefault(
        "members", IdentityDirectory(runtime.client_for("identity"), runtime.settings.mp_appid)
    )
    runtime.extras.setdefault("invite_keys", invite_keys(runtime.settings.verification_keys()))
    if runtime.driver_pool is not None:
        # A launch's free registrations for one period, committed together (one WAL flush per batch).
        runtime.extras.setdefault("free_registrations", FreeRegistrationBatches(runtime.driver_pool))
    runtime.extras.setdefault(
        "codes",
        ChannelCodes(
            WeChatApi(runtime.http, runtime.settings.wechat_api_base),
            IdentityTokens(runtime.client_for("identity")),
            oa_appid=runtime.settings.oa_appid,
            mp_appid=runtime.settings.mp_appid,
        ),
    )


def settings_of(runtime: ServiceRuntime) -> CampaignSettings:
    """The runtime's settings, typed."""
    return cast(CampaignSettings, runtime.settings)


async def _runtime(request: Request) -> ServiceRuntime:
    return cast(ServiceRuntime, request.app.state.runtime)


RuntimeDep = Annotated[ServiceRuntime, Depends(_runtime)]


async def _clock(runtime: RuntimeDep) -> Clock:
    return cast(Clock, runtime.extras["clock"])


ClockDep = Annotated[Clock, Depends(_clock)]


async def _pay(runtime: RuntimeDep) -> WeChatPayClient | None:
    return cast(WeChatPayClient | None, runtime.extras.get("pay"))


PayDep = Annotated[WeChatPayClient | None, Depends(_pay)]


async def _members(runtime: RuntimeDep) -> MemberDirectory:
    return cast(MemberDirectory, runtime.extras["members"])


MembersDep = Annotated[MemberDirectory, Depends(_members)]


async def _codes(runtime: RuntimeDep) -> ChannelCodes:
    return cast(ChannelCodes, runtime.extras["codes"])


ChannelCodesDep = Annotated[ChannelCodes, Depends(_codes)]


async def _invite_keys(runtime: RuntimeDep) -> list[bytes]:
    return cast(list[bytes], runtime.extras["invite_keys"])


InviteKeysDep = Annotated[list[bytes], Depends(_invite_keys)]
