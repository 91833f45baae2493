"""The WeChat calls messaging makes, with tokens from identity-service (the single owner per appid)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.http import ServiceClient
from shared.wechat.api import WeChatApi


class TokenSource(Protocol):
    """Hands out an app's access token and takes back rejected ones."""

    async def current(self, appid: str) -> str: ...

    async def invalidate(self, appid: str, token: str) -> str: ...


class IdentityTokens:
    """``/internal/wechat/token/{appid}`` on identity-service, cached until shortly before it expires.

    Every send needs a token: asking identity each time doubled the cost of a
    send. A token WeChat rejects is reported once and replaced in the cache.
    """

    # Refresh this long before identity's expiry (identity refreshes ahead too).
    MARGIN = timedelta(minutes=5)

    def __init__(self, client: ServiceClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[str, datetime]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _keep(self, appid: str, answer: dict[str, Any]) -> str:
        token = str(answer["access_token"])
        expires = answer.get("expires_at")
        until = datetime.fromisoformat(expires) if isinstance(expires, str) else datetime.now(UTC)
        self._cache[appid] = (token, until - self.MARGIN)
        return token

    async def current(self, appid: str) -> str:
        """The app's current token (one fetch at a time per app)."""
        cached = self._cache.get(appid)
        if cached is not None and cached[1] > datetime.now(UTC):
            return cached[0]
        async with self._locks.setdefault(appid, asyncio.Lock()):
            cached = self._cache.get(appid)
            if cached is not None and cached[1] > datetime.now(UTC):
                return cached[0]
            return self._keep(appid, await self.client.get_json(f"/internal/wechat/token/{appid}"))

    async def invalidate(self, appid: str, token: str) -> str:
        """Report ``token`` as rejected; returns the current (refreshed) token."""
        self._cache.pop(appid, None)
        answer = await self.client.post_json(
            f"/internal/wechat/token/{appid}/invalidate", {"access_token": token}
        )
        return self._keep(appid, answer)


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
