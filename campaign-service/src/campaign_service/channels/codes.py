"""Making a channel's codes at WeChat: the service account's scene QR and the mini-program code.

Access tokens come from identity-service, the single owner per appid; a token
WeChat rejects is reported there once and the call retried with the new one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from shared.errors import UpstreamError
from shared.http import ServiceClient
from shared.wechat.api import WeChatApi
from shared.wechat.errors import WeChatError

# Where a ticket's image is fetched (what staff print); not an API call of ours.
SHOW_QRCODE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="


@dataclass(frozen=True)
class SceneQr:
    """A service-account scene QR code."""

    ticket: str
    url: str
    image_url: str
    expires_at: datetime | None


class TokenSource(Protocol):
    """Hands out an app's access token and takes back rejected ones."""

    async def current(self, appid: str) -> str: ...

    async def invalidate(self, appid: str, token: str) -> str: ...


class IdentityTokens:
    """``/internal/wechat/token/{appid}`` on identity-service."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def current(self, appid: str) -> str:
        """The app's current token."""
        return str((await self.client.get_json(f"/internal/wechat/token/{appid}"))["access_token"])

    async def invalidate(self, appid: str, token: str) -> str:
        """Report ``token`` as rejected; returns the current (refreshed) token."""
        answer = await self.client.post_json(
            f"/internal/wechat/token/{appid}/invalidate", {"access_token": token}
        )
        return str(answer["access_token"])


class ChannelCodes:
    """Creates scene QR codes (service account) and mini-program codes for a channel code."""

    def __init__(self, api: WeChatApi, tokens: TokenSource, *, oa_appid: str, mp_appid: str) -> None:
        self.api = api
        self.tokens = tokens
        self.oa_appid = oa_appid
        self.mp_appid = mp_appid

    async def _with_token(self, appid: str, call: Callable[[str], Awaitable[Any]]) -> Any:
        token = await self.tokens.current(appid)
        try:
            return await call(token)
        except WeChatError as exc:
            if not exc.needs_new_token:
                raise _upstream(exc) from exc
        token = await self.tokens.invalidate(appid, token)
        try:
            return await call(token)
        except WeChatError as exc:
            raise _upstream(exc) from exc

    async def scene_qr(self, scene: str, *, expire_seconds: int | None, now: datetime) -> SceneQr:
        """A permanent (``expire_seconds`` None) or temporary QR code whose scene_str is ``scene``."""
        body: dict[str, Any]
        if expire_seconds is None:
            body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        else:
            body = {
                "expire_seconds": expire_seconds,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": scene}},
            }
        answer = await self._with_token(self.oa_appid, lambda token: self.api.create_qrcode(token, body))
        ticket = str(answer["ticket"])
        granted = answer.get("expire_seconds")
        return SceneQr(
            ticket=ticket,
            url=str(answer.get("url", "")),
            image_url=SHOW_QRCODE_URL + quote(ticket, safe=""),
            expires_at=now + timedelta(seconds=int(granted)) if granted else None,
        )

    async def wxacode(self, scene: str, *, page: str) -> bytes:
        """The mini-program code PNG that launches ``page`` with ``scene``."""
        body: dict[str, Any] = {"scene": scene, "check_path": False, "width": 430}
        if page:
            body["page"] = page
        return bytes(
            await self._with_token(self.mp_appid, lambda token: self.api.get_wxacode_unlimit(token, body))
        )


def _upstream(exc: WeChatError) -> UpstreamError:
    return UpstreamError(
        f"微信接口返回错误 {exc.errcode}：{exc.errmsg}", slug="wechat-error", title="WeChat API error"
    )
