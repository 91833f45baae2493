"""The WeChat calls messaging makes, with tokens from identity-service (the single owner per appid)."""

from __future__ import annotations

from typing import Any, Protocol

from shared.http import ServiceClient
from shared.wechat.api import WeChatApi


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


class MessagingApi(WeChatApi):
    """The shared client plus the template lists the registry syncs from."""

    async def subscribe_templates(self, access_token: str) -> dict[str, Any]:
        """The mini-program's subscribe templates: ``{data: [{priTmplId, title, content, type}]}``."""
        return await self._json(
            "GET", "/wxaapi/newtmpl/gettemplate", params={"access_token": access_token}
        )

    async def oa_templates(self, access_token: str) -> dict[str, Any]:
        """The service account's templates: ``{template_list: [{template_id, title, content}]}``."""
        return await self._json(
            "GET", "/cgi-bin/template/get_all_private_template", params={"access_token": access_token}
        )
