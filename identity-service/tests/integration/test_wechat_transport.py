"""The aiohttp-backed httpx transport the WeChat client uses."""

import httpx
import pytest

from shared.http import AiohttpTransport
from shared.testing.infra import free_port


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
