"""The WeChat API client: parameters on the wire, errcodes, image answers."""

from __future__ import annotations

import json

import httpx
import pytest

from shared.wechat.api import WeChatApi
from shared.wechat.errors import WeChatError, WeChatUnavailable


def _api(handler: httpx.MockTransport) -> tuple[WeChatApi, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=handler)
    return WeChatApi(client, "http://wechat.test/"), client


async def test_jscode2session_sends_documented_params() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"openid": "o1", "session_key": "k"})

    api, client = _api(httpx.MockTransport(handler))
    async with client:
        result = await api.jscode2session("wx1", "sec", "code1")
    assert result == {"openid": "o1", "session_key": "k"}
    assert seen[0].url.path == "/sns/jscode2session"
    assert dict(seen[0].url.params) == {
        "appid": "wx1",
        "secret": "sec",
        "js_code": "code1",
        "grant_type": "authorization_code",
    }


async def test_errcode_raises_with_token_hint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token expired"})

    api, client = _api(httpx.MockTransport(handler))
    async with client:
        with pytest.raises(WeChatError) as caught:
            await api.user_info("tok", "o1")
    assert caught.value.errcode == 42001
    assert caught.value.needs_new_token


async def test_json_body_is_utf8_not_escaped() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    api, client = _api(httpx.MockTransport(handler))
    async with client:
        await api.send_custom("tok", {"touser": "o1", "msgtype": "text", "text": {"content": "你好"}})
    assert "你好".encode() in bodies[0]
    assert json.loads(bodies[0])["text"]["content"] == "你好"


async def test_wxacode_returns_bytes_or_raises() -> None:
    answers = [
        httpx.Response(200, content=b"\x89PNG...", headers={"content-type": "image/png"}),
        httpx.Response(200, json={"errcode": 40169, "errmsg": "invalid length for scene"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    api, client = _api(httpx.MockTransport(handler))
    async with client:
        assert await api.get_wxacode_unlimit("tok", {"scene": "a"}) == b"\x89PNG..."
        with pytest.raises(WeChatError) as caught:
            await api.get_wxacode_unlimit("tok", {"scene": "a" * 40})
    assert caught.value.errcode == 40169


async def test_http_failures_are_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/token":
            return httpx.Response(502, text="bad gateway")
        raise httpx.ConnectError("refused")

    api, client = _api(httpx.MockTransport(handler))
    async with client:
        with pytest.raises(WeChatUnavailable) as caught:
            await api.get_token("wx1", "s")
        assert caught.value.retryable
        with pytest.raises(WeChatUnavailable):
            await api.get_stable_token("wx1", "s")
