"""A thin async client for the WeChat endpoints Qunyun calls.

It never fetches access tokens on its own: identity-service owns them, callers
pass one in and react to ``WeChatError.needs_new_token``.

The client is caller-owned: an ``aiohttp.ClientSession`` in the services (a
login's WeChat call is on the hot path, and going through httpx's request
model on top of aiohttp cost about a sixth of identity's CPU per login), or
an ``httpx.AsyncClient`` where one already exists (in-process test apps,
services whose WeChat calls are rare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import orjson

from shared.wechat.errors import WeChatError, WeChatUnavailable

HttpClient = aiohttp.ClientSession | httpx.AsyncClient


@dataclass(frozen=True, slots=True)
class _Answer:
    """What came back, independent of the HTTP client that fetched it."""

    status: int
    content_type: str
    content: bytes


class WeChatApi:
    """WeChat API calls over a caller-owned HTTP client (aiohttp or httpx)."""

    def __init__(self, client: HttpClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> _Answer:
        content = None
        headers = {}
        if body is not None:
            # orjson writes non-ASCII text as UTF-8, never as \u escapes: some
            # WeChat endpoints have shown the escapes to users.
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json; charset=utf-8"
        url = self._base + path
        if isinstance(self._client, aiohttp.ClientSession):
            answer = await self._send_aiohttp(self._client, method, url, path, params, content, headers)
        else:
            answer = await self._send_httpx(self._client, method, url, path, params, content, headers)
        if answer.status >= 300:
            raise WeChatUnavailable(f"{path}: HTTP {answer.status}")
        return answer

    @staticmethod
    async def _send_aiohttp(
        client: aiohttp.ClientSession, method: str, url: str, path: str,
        params: dict[str, str] | None, content: bytes | None, headers: dict[str, str],
    ) -> _Answer:
        # Error text names only the path: the URL's query carries secrets.
        try:
            async with client.request(
                method, url, params=params, data=content, headers=headers, allow_redirects=False
            ) as response:
                return _Answer(response.status, response.headers.get("Content-Type", ""), await response.read())
        except TimeoutError as exc:
            raise WeChatUnavailable(f"{path}: timed out") from exc
        except aiohttp.ClientError as exc:
            raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from exc

    @staticmethod
    async def _send_httpx(
        client: httpx.AsyncClient, method: str, url: str, path: str,
        params: dict[str, str] | None, content: bytes | None, headers: dict[str, str],
    ) -> _Answer:
        try:
            response = await client.request(method, url, params=params, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from exc
        return _Answer(response.status_code, response.headers.get("content-type", ""), response.content)

    @staticmethod
    def _result(answer: _Answer) -> dict[str, Any]:
        try:
            data = orjson.loads(answer.content)
        except ValueError as exc:
            raise WeChatUnavailable("answer is not JSON") from exc
        if not isinstance(data, dict):
            raise WeChatUnavailable("answer is not a JSON object")
        try:
            errcode = int(data.get("errcode") or 0)
        except (TypeError, ValueError) as exc:
            raise WeChatUnavailable("errcode is not a number") from exc
        if errcode != 0:
            raise WeChatError(errcode, str(data.get("errmsg", "")))
        return data

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._result(await self._send(method, path, params=params, body=body))

    async def jscode2session(self, appid: str, secret: str, code: str) -> dict[str, Any]:
        """Exchange a ``wx.login`` code for ``{openid, session_key, unionid?}``."""
        params = {
            "appid": appid,
            "secret": secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        return await self._json("GET", "/sns/jscode2session", params=params)

    async def get_token(self, appid: str, secret: str) -> dict[str, Any]:
        """Fetch a new access token (invalidates the previous one after 5 minutes)."""
        params = {"grant_type": "client_credential", "appid": appid, "secret": secret}
        return await self._json("GET", "/cgi-bin/token", params=params)

    async def get_stable_token(self, appid: str, secret: str, force_refresh: bool = False) -> dict[str, Any]:
        """Fetch the stable access token (``force_refresh`` is rate-limited by WeChat)."""
        body = {
            "grant_type": "client_credential",
            "appid": appid,
            "secret": secret,
            "force_refresh": force_refresh,
        }
        return await self._json("POST", "/cgi-bin/stable_token", body=body)

    async def user_info(self, access_token: str, openid: str, lang: str = "zh_CN") -> dict[str, Any]:
        """A service-account user's follow state (``subscribe: 0`` means nothing else)."""
        params = {"access_token": access_token, "openid": openid, "lang": lang}
        return await self._json("GET", "/cgi-bin/user/info", params=params)

    async def get_phone_number(self, access_token: str, code: str) -> dict[str, Any]:
        """Exchange a ``bindgetphonenumber`` code for ``phone_info``."""
        return await self._json(
            "POST",
            "/wxa/business/getuserphonenumber",
            params={"access_token": access_token},
            body={"code": code},
        )

    async def create_qrcode(self, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a service-account scene QR code; returns ``{ticket, url, expire_seconds?}``."""
        return await self._json(
            "POST", "/cgi-bin/qrcode/create", params={"access_token": access_token}, body=body
        )

    async def get_wxacode_unlimit(self, access_token: str, body: dict[str, Any]) -> bytes:
        """A mini-program code image for a scene; a JSON answer is an error."""
        answer = await self._send(
            "POST", "/wxa/getwxacodeunlimit", params={"access_token": access_token}, body=body
        )
        if "json" in answer.content_type or answer.content.lstrip()[:1] == b"{":
            self._result(answer)
            raise WeChatUnavailable("JSON answer without an image")
        return answer.content

    async def send_subscribe(self, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a mini-program subscribe message (uses one credit of the template)."""
        return await self._json(
            "POST",
            "/cgi-bin/message/subscribe/send",
            params={"access_token": access_token},
            body=body,
        )

    async def send_template(self, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a service-account template message; returns ``{msgid}``."""
        return await self._json(
            "POST",
            "/cgi-bin/message/template/send",
            params={"access_token": access_token},
            body=body,
        )

    async def send_custom(self, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a customer-service message inside the user's interaction window."""
        return await self._json(
            "POST",
            "/cgi-bin/message/custom/send",
            params={"access_token": access_token},
            body=body,
        )
