"""In-process harness: the simulator app plus a fake gateway that receives and checks its pushes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from qunyun_local.devkeys import ensure_dev_pay_keys
from shared.settings import DEV_MP_AES_KEY, DEV_MP_TOKEN, DEV_OA_AES_KEY, DEV_OA_TOKEN
from shared.wechat import pay
from shared.wechat.api import WeChatApi
from shared.wechat.callback import CallbackCrypto, check_signature
from shared.wechat.push import parse_push, sniff_format
from wechat_simulator.config import SimulatorSettings
from wechat_simulator.main import create_app
from wechat_simulator.state import SimState

GATEWAY = "http://gateway.test"


@dataclass
class FakeGateway:
    """Receives pushes like Qunyun's gateway would, verifying every signature on the way."""

    apiv3_key: str
    platform_keys: dict[str, Any]
    settings: SimulatorSettings
    received: list[dict[str, Any]] = field(default_factory=list)
    pay_received: list[dict[str, Any]] = field(default_factory=list)
    pay_statuses: list[int] = field(default_factory=list)
    push_delays: list[float] = field(default_factory=list)
    reply: Callable[[dict[str, Any], CallbackCrypto, Request], str] | None = None

    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/wechat/pay/notify", self.pay_notify, methods=["POST"])
        app.add_api_route("/wechat/{app_kind}/{appid}", self.push, methods=["POST"])
        app.add_api_route("/wechat/{app_kind}/{appid}", self.url_check, methods=["GET"])
        return app

    async def push(self, app_kind: str, appid: str, request: Request) -> Response:
        s = self.settings
        token, key = (DEV_OA_TOKEN, DEV_OA_AES_KEY) if app_kind == "oa" else (DEV_MP_TOKEN, DEV_MP_AES_KEY)
        crypto = CallbackCrypto(token, key, appid)
        q = request.query_params
        assert appid == (s.oa_appid if app_kind == "oa" else s.mp_appid)
        assert check_signature(token, q["signature"], q["timestamp"], q["nonce"])
        raw = await request.body()
        outer = parse_push(raw, sniff_format(raw))
        if q.get("encrypt_type") == "aes":
            inner_raw = crypto.decrypt(q["msg_signature"], q["timestamp"], q["nonce"], outer["Encrypt"])
            message = parse_push(inner_raw, sniff_format(inner_raw))
        else:
            message = outer
        assert q["openid"] == message["FromUserName"]
        self.received.append({"app": app_kind, "query": dict(q), "message": message, "raw": raw})
        if self.push_delays:  # after recording: a timed-out attempt still reached the gateway
            await asyncio.sleep(self.push_delays.pop(0))
        if self.reply is not None:
            return PlainTextResponse(self.reply(message, crypto, request))
        return PlainTextResponse("success")

    async def url_check(self, app_kind: str, request: Request) -> Response:
        q = request.query_params
        token = DEV_OA_TOKEN if app_kind == "oa" else DEV_MP_TOKEN
        if not check_signature(token, q["signature"], q["timestamp"], q["nonce"]):
            return PlainTextResponse("bad signature", status_code=403)
        return PlainTextResponse(q["echostr"])

    async def pay_notify(self, request: Request) -> Response:
        raw = await request.body()
        pay.verify_notification(request.headers, raw, self.platform_keys)
        body = json.loads(raw)
        self.pay_received.append(
            {"body": body, "resource": pay.decrypt_resource(self.apiv3_key, body["resource"])}
        )
        status = self.pay_statuses.pop(0) if self.pay_statuses else 200
        return Response(status_code=status)

    def messages(self, app_kind: str | None = None) -> list[dict[str, Any]]:
        return [r["message"] for r in self.received if app_kind is None or r["app"] == app_kind]


@dataclass
class Harness:
    """One simulator app, a client to it, and the fake gateway behind it."""

    client: httpx.AsyncClient
    app: FastAPI
    gateway: FakeGateway
    settings: SimulatorSettings
    env: dict[str, str]

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim.state
        return state

    @property
    def api(self) -> WeChatApi:
        return WeChatApi(self.client, "http://sim")

    async def sim(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = await self.client.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def person(self, **body: Any) -> dict[str, Any]:
        person: dict[str, Any] = await self.sim("/sim/people", body or None)
        return person

    async def token(self, app: str = "mp") -> str:
        appid, secret = (
            (self.settings.mp_appid, self.settings.mp_secret)
            if app == "mp"
            else (self.settings.oa_appid, self.settings.oa_secret)
        )
        result = await self.api.get_token(appid, secret.get_secret_value())
        return str(result["access_token"])

    async def login(self, person: dict[str, Any]) -> dict[str, Any]:
        code = (await self.sim(f"/sim/people/{person['person_id']}/login-code"))["code"]
        return await self.api.jscode2session(
            self.settings.mp_appid, self.settings.mp_secret.get_secret_value(), code
        )

    async def pay_call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, key_file: str | None = None
    ) -> httpx.Response:
        text = "" if body is None else json.dumps(body)
        authorization = pay.sign_request(
            method,
            path,
            text,
            self.env["QUNYUN_PAY_MCHID"],
            self.env["QUNYUN_PAY_MCH_SERIAL"],
            Path(key_file or self.env["QUNYUN_PAY_MCH_KEY_FILE"]).read_bytes(),  # noqa: ASYNC240 (tiny file)
        )
        return await self.client.request(
            method,
            path,
            content=text or None,
            headers={
                "Authorization": authorization,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )


@pytest.fixture(scope="session")
def pay_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return ensure_dev_pay_keys(tmp_path_factory.mktemp("data"))


def make_settings(env: dict[str, str], **overrides: Any) -> SimulatorSettings:
    values: dict[str, Any] = {
        "gateway_url": GATEWAY,
        "pay_mchid": env["QUNYUN_PAY_MCHID"],
        "pay_apiv3_key": env["QUNYUN_PAY_APIV3_KEY"],
        "pay_mch_serial": env["QUNYUN_PAY_MCH_SERIAL"],
        "pay_platform_cert_file": env["QUNYUN_PAY_PLATFORM_CERT_FILE"],
        "pay_platform_public_key_file": env["QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE"],
        "pay_platform_key_id": env["QUNYUN_PAY_PLATFORM_KEY_ID"],
        "platform_key_file": env["WECHAT_SIM_PLATFORM_KEY_FILE"],
        "mch_cert_file": env["WECHAT_SIM_MCH_CERT_FILE"],
        "pay_retry_delays": [0.01, 0.01, 0.01],
        "refund_success_delay_seconds": 0.0,
        "push_timeout_seconds": 0.5,
        **overrides,
    }
    return SimulatorSettings(**values)


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(pay_env: dict[str, str]) -> AsyncIterator[HarnessFactory]:
    clients: list[httpx.AsyncClient] = []
    apps: list[FastAPI] = []

    async def factory(**overrides: Any) -> Harness:
        settings = make_settings(pay_env, **overrides)
        keys = pay.platform_public_keys(
            settings.pay_platform_cert_file,
            settings.pay_platform_public_key_file,
            settings.pay_platform_key_id,
        )
        gateway = FakeGateway(pay_env["QUNYUN_PAY_APIV3_KEY"], dict(keys), settings)
        app = create_app(settings, push_transport=httpx.ASGITransport(app=gateway.app()))
        # raise_app_exceptions=False: a dropped connection reaches the client as a broken answer.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://sim")
        clients.append(client)
        apps.append(app)
        return Harness(client, app, gateway, settings, pay_env)

    yield factory
    for app in apps:
        app.state.sim.state.reset()
        await app.state.sim.delivery.aclose()
    for client in clients:
        await client.aclose()


@pytest.fixture
async def h(make_harness: HarnessFactory) -> Harness:
    return await make_harness()
