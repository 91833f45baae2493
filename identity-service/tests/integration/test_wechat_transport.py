"""HTTP to WeChat: the WeChat client over aiohttp, and the aiohttp-backed httpx transport."""

import httpx
import pytest

from shared.http import AiohttpTransport, create_aiohttp_session
from shared.settings import DEV_MP_APPID, DEV_MP_SECRET
from shared.testing.infra import free_port
from shared.wechat.api import WeChatApi
from shared.wechat.errors import WeChatError, WeChatUnavailable


async def test_requests_answers_and_errors(simulator_url, sim):
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=httpx.Timeout(2.0)) as client:
        created = await client.post(f"{simulator_url}/sim/people", json={"with_unionid": False})
        assert created.status_code == 200 and created.json()["unionid"] is None
        got = await client.get(f"{simulator_url}/sim/people/{created.json()['person_id']}", params={"x": "1"})
        assert got.json()["person_id"] == created.json()["person_id"]
        assert (await client.get(f"{simulator_url}/sim/people/nobody")).status_code == 404

        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{free_port()}/")

        await sim.fault("/sns/jscode2session", latency_ms=1500)
        with pytest.raises(httpx.TimeoutException):
            await client.get(f"{simulator_url}/sns/jscode2session", timeout=httpx.Timeout(0.3))


async def test_a_slow_wechat_is_retried_then_503(identity_app, sim):
    async with identity_app(wechat_timeout_seconds=0.3) as identity:
        person = await sim.person()
        await sim.fault("/sns/jscode2session", latency_ms=1000, times=identity.settings.wechat_attempts)
        response = await identity.client.post(
            "/mp/v1/session",
            json={"code": await sim.login_code(person["person_id"])},
            headers=identity.public(),
        )
        assert response.status_code == 503
        assert response.json()["type"].endswith("/wechat-unavailable")


async def test_wechat_api_over_aiohttp(simulator_url, sim):
    """The services' WeChat client: answers, errcodes, HTTP errors, timeouts, dead hosts."""
    session = create_aiohttp_session(read_timeout=0.3)
    async with session:
        api = WeChatApi(session, simulator_url)
        person = await sim.person()
        answer = await api.jscode2session(DEV_MP_APPID, DEV_MP_SECRET,
                                          await sim.login_code(person["person_id"]))
        assert answer["openid"] and answer["session_key"]

        with pytest.raises(WeChatError) as used:
            await api.jscode2session(DEV_MP_APPID, DEV_MP_SECRET, "no-such-code")
        assert used.value.errcode in (40029, 40163)

        await sim.fault("/sns/jscode2session", http_status=502)
        with pytest.raises(WeChatUnavailable, match="HTTP 502"):
            await api.jscode2session(DEV_MP_APPID, DEV_MP_SECRET, "x")

        await sim.fault("/sns/jscode2session", latency_ms=1000)
        with pytest.raises(WeChatUnavailable, match="timed out") as slow:
            await api.jscode2session(DEV_MP_APPID, DEV_MP_SECRET, "x")
        # The app secret travels in the query string; it must not travel into errors.
        assert DEV_MP_SECRET not in str(slow.value)

        dead = WeChatApi(session, f"http://127.0.0.1:{free_port()}")
        with pytest.raises(WeChatUnavailable, match="ClientConnectorError"):
            await dead.jscode2session(DEV_MP_APPID, DEV_MP_SECRET, "x")
