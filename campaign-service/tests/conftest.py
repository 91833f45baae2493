"""campaign-service in-process on a migrated database, with the WeChat simulator for pay calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request, Response

from campaign_service.channels.codes import ChannelCodes
from campaign_service.config import CampaignSettings
from campaign_service.main import create_app
from campaign_service.payments.wechatpay import WeChatPayClient
from qunyun_local.devkeys import ensure_dev_pay_keys
from shared.contracts import EventData, spec_of
from shared.errors import Invalid
from shared.events.envelope import Envelope
from shared.testing.wechat import SimulatorTokens
from shared.wechat import pay
from shared.wechat.api import WeChatApi
from shared.wechat.errors import WeChatCryptoError
from shared.wechat.miniprogram import decrypt_encrypted_data


@dataclass
class Directory:
    """Member → mini-program openid and session_key, standing in for identity-service's internal API."""

    openids: dict[int, str] = field(default_factory=dict)
    session_keys: dict[int, str] = field(default_factory=dict)
    appid: str = ""

    async def mp_openid(self, member_no: int) -> str:
        return self.openids[member_no]

    async def decrypt(self, member_no: int, encrypted_data: str, iv: str) -> dict[str, Any]:
        """What identity's decrypt does: the member's latest session_key, watermark checked."""
        try:
            return decrypt_encrypted_data(self.session_keys[member_no], encrypted_data, iv, self.appid)
        except WeChatCryptoError as exc:  # identity answers a problem, never a 500
            raise Invalid("encryptedData cannot be decrypted", slug="encrypted-data-invalid") from exc


@dataclass
class Campaign:
    """A running campaign service and helpers to act as staff, members and WeChat."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: CampaignSettings
    headers: Callable[..., dict[str, str]]
    directory: Directory
    sim: httpx.AsyncClient | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def staff(self, *roles: str) -> dict[str, str]:
        return self.headers(self.settings, staff_roles=roles or ("operator",))

    def member(self, member_no: int) -> dict[str, str]:
        return self.headers(self.settings, member_no=member_no)

    def set_now(self, moment: datetime) -> None:
        """Move the service's clock so that now is ``moment``."""
        self.runtime.extras["clock"].offset = moment - datetime.now(UTC)

    async def series_with_period(self, **period: Any) -> dict[str, Any]:
        series = await self.client.post("/admin/v1/series", json={"title": "单词对赌"}, headers=self.staff())
        assert series.status_code == 201, series.text
        body = period_body(**period)
        created = await self.client.post(
            f"/admin/v1/series/{series.json()['id']}/periods", json=body, headers=self.staff()
        )
        assert created.status_code == 201, created.text
        return dict(created.json())

    async def open_period(self, **period: Any) -> dict[str, Any]:
        created = await self.series_with_period(**period)
        opened = await self.client.post(
            f"/admin/v1/periods/{created['id']}/state", json={"state": "open"}, headers=self.staff()
        )
        assert opened.status_code == 200, opened.text
        return dict(opened.json())

    async def publish(self, data: EventData, *, key: str) -> None:
        """Put an event on its topic exactly as a producing service's relay does."""
        spec = spec_of(data)
        envelope = Envelope(
            type=spec.type, version=spec.version, source="gateway", data=data.model_dump(mode="json")
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(
                self.settings.topic(spec.topic), envelope.to_bytes(), key=key.encode()
            )
        finally:
            await producer.stop()

    async def person(self, member_no: int) -> dict[str, Any]:
        """A simulated WeChat user who is ``member_no`` for us (logged in to the mini-program)."""
        assert self.sim is not None
        person = (await self.sim.post("/sim/people", json={})).json()
        self.directory.openids[member_no] = person["mp_openid"]
        await self.sim.post(f"/sim/people/{person['person_id']}/login-code")
        sim_state = self.sim._transport.app.state.sim.state  # type: ignore[attr-defined]
        self.directory.session_keys[member_no] = sim_state.people[person["person_id"]].session_key
        return dict(person)


def period_body(**overrides: Any) -> dict[str, Any]:
    """A period open for registration now, running from today for ten days.

    It has begun, so the scheduler moves it to ``running`` at its next pass;
    ``late_join`` keeps registration open meanwhile, as these tests register
    and check in on its first day.
    """
    now = datetime.now(UTC)
    today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date()
    body: dict[str, Any] = {
        "title": "第一期",
        "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
        "registration_closes_at": (now + timedelta(days=2)).isoformat(),
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=9)).isoformat(),
        "capacity": 100,
        "fee_fen": 0,
        "late_join": True,
        "checkin_plan": {"deadline": "22:00:00", "grace_minutes": 60},
        "refund_rule": {
            "tiers": [
                {"min_percent": 90, "kind": "percent", "percent": 100},
                {"min_percent": 60, "kind": "proportional"},
            ]
        },
    }
    body.update(overrides)
    return body


def _date(value: str) -> date:
    return date.fromisoformat(value)


@pytest.fixture(scope="session")
def pay_env(infra: Any) -> dict[str, str]:
    return ensure_dev_pay_keys(Path(infra.data_dir))


@pytest.fixture
def campaign_factory(migrated_db, service_settings, internal_headers, pay_env) -> Callable[..., Any]:
    """``async with campaign_factory(simulator=True, **settings) as c``."""

    @asynccontextmanager
    async def make(*, simulator: bool = False, **overrides: Any) -> AsyncIterator[Campaign]:
        values: dict[str, Any] = {
            "scheduler_interval_seconds": 3600,
            "refund_retry_base_seconds": 0,
            "pay_mchid": pay_env["QUNYUN_PAY_MCHID"],
            "pay_mch_serial": pay_env["QUNYUN_PAY_MCH_SERIAL"],
            "pay_mch_key_file": pay_env["QUNYUN_PAY_MCH_KEY_FILE"],
            # Answers are verified against the platform keys; the APIv3 key downloads rotated certificates.
            "pay_apiv3_key": pay_env["QUNYUN_PAY_APIV3_KEY"],
            "pay_platform_cert_file": pay_env["QUNYUN_PAY_PLATFORM_CERT_FILE"],
            "pay_platform_public_key_file": pay_env["QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE"],
            "pay_platform_key_id": pay_env["QUNYUN_PAY_PLATFORM_KEY_ID"],
            "gateway_url": "http://gateway.test",
        }
        values.update(overrides)
        settings = service_settings(CampaignSettings, await migrated_db("campaign"), **values)
        app = create_app(settings)
        directory = Directory(appid=settings.mp_appid)
        async with _run_app(app) as client:
            app.state.runtime.extras["members"] = directory
            c = Campaign(
                app=app, client=client, settings=settings, headers=internal_headers, directory=directory
            )
            if not simulator:
                yield c
                return
            async with _simulator(pay_env, c) as sim_client:
                c.sim = sim_client
                app.state.runtime.extras["pay"] = WeChatPayClient.from_settings(
                    settings.model_copy(update={"wechatpay_api_base": "http://sim"}), sim_client
                )
                app.state.runtime.extras["codes"] = ChannelCodes(
                    WeChatApi(sim_client, "http://sim"),
                    SimulatorTokens(
                        sim_client,
                        {
                            settings.oa_appid: settings.oa_secret.get_secret_value(),
                            settings.mp_appid: settings.mp_secret.get_secret_value(),
                        },
                    ),
                    oa_appid=settings.oa_appid,
                    mp_appid=settings.mp_appid,
                )
                yield c

    return make


@asynccontextmanager
async def _run_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like the plugin's ``running_app``, but each request gets its own copy of the lifespan state.

    asgi_lifespan hands every request the *same* state dict (uvicorn copies it),
    so ``request.state.internal_caller`` cached by shared.auth would leak the
    first caller's identity into every later request.
    """

    async def per_request_state(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": dict(scope.get("state") or {})}
        await app(scope, receive, send)

    async with LifespanManager(per_request_state, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def _simulator(env: dict[str, str], campaign: Campaign) -> AsyncIterator[httpx.AsyncClient]:
    """The WeChat simulator in-process; its pay notifications are captured (decrypted) on ``campaign``."""
    from wechat_simulator.config import SimulatorSettings
    from wechat_simulator.main import create_app as create_simulator

    settings = SimulatorSettings(
        gateway_url="http://gateway.test",
        pay_mchid=env["QUNYUN_PAY_MCHID"],
        pay_apiv3_key=env["QUNYUN_PAY_APIV3_KEY"],
        pay_mch_serial=env["QUNYUN_PAY_MCH_SERIAL"],
        pay_platform_cert_file=env["QUNYUN_PAY_PLATFORM_CERT_FILE"],
        pay_platform_public_key_file=env["QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE"],
        pay_platform_key_id=env["QUNYUN_PAY_PLATFORM_KEY_ID"],
        platform_key_file=env["WECHAT_SIM_PLATFORM_KEY_FILE"],
        mch_cert_file=env["WECHAT_SIM_MCH_CERT_FILE"],
        pay_retry_delays=[0.01],
        refund_success_delay_seconds=0.0,
        refund_min_interval_seconds=0,
        push_timeout_seconds=0.5,
    )
    receiver = FastAPI()

    async def notified(request: Request) -> Response:
        body = json.loads(await request.body())
        campaign.notifications.append(
            {
                "event_type": body["event_type"],
                "resource": pay.decrypt_resource(env["QUNYUN_PAY_APIV3_KEY"], body["resource"]),
            }
        )
        return Response(status_code=204)

    receiver.add_api_route("/wechat/pay/notify", notified, methods=["POST"])
    receiver.add_api_route("/wechat/pay/refund-notify", notified, methods=["POST"])
    sim_app = create_simulator(settings, push_transport=httpx.ASGITransport(app=receiver))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url="http://sim") as client:
        try:
            yield client
        finally:
            sim_app.state.sim.state.reset()
            await sim_app.state.sim.delivery.aclose()


@pytest.fixture(name="period_body")
def period_body_fixture() -> Callable[..., dict[str, Any]]:
    """The default period body, with overrides."""
    return period_body
