"""Pushes are answered in time with the broker paused, and garbage never gets in."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shared.events.outbox import OutboxMessage
from shared.settings import DEV_MP_TOKEN, DEV_OA_TOKEN
from shared.testing.waiting import eventually


def _text(openid: str, msg_id: int) -> str:
    return (f"<xml><ToUserName>gh_qunyundev0001</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType><Content>hi</Content>"
            f"<MsgId>{msg_id}</MsgId></xml>")


@pytest.mark.slow
async def test_pushes_answered_in_time_with_broker_paused_then_published(gateway_factory, infra):
    broker = infra.start_broker()
    async with gateway_factory(kafka_bootstrap_servers=broker.bootstrap) as gw:
        broker.pause()
        try:
            latencies = []
            for i in range(200):
                started = time.perf_counter()
                response = await gw.client.post(gw.oa_url, params=gw.signed_query(DEV_OA_TOKEN),
                                                content=_text(f"o{i % 20}", 10_000 + i))
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.text == "success"
            latencies.sort()
            assert latencies[int(len(latencies) * 0.99)] < 0.05, f"p99 {latencies[-2] * 1000:.1f} ms"
        finally:
            broker.resume()
        gw.app.state.runtime.relay.wake()

        async def unpublished() -> int:
            async with gw.app.state.runtime.session_factory() as session:
                return int(await session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))))

        await eventually(unpublished, lambda n: n == 0, timeout=90)
        assert len(await gw.outbox("wechat.inbound.message")) == 200


ENDPOINTS = ("/wechat/oa/wxfedcba0987654321", "/wechat/mp/wx1234567890abcdef", "/wechat/pay/notify",
             "/wechat/pay/refund-notify")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.one_of(
        st.binary(max_size=2048),
        st.text(max_size=512).map(lambda t: f"<xml>{t}</xml>".encode()),
        st.dictionaries(st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event",
                                         "Encrypt", "List", "id", "resource"]),
                        st.one_of(st.text(max_size=30), st.integers(), st.none(), st.lists(st.integers())),
                        max_size=6).map(lambda d: __import__("json").dumps(d).encode()),
    ),
    signed=st.booleans(),
    encrypt_type=st.sampled_from([None, "aes", "AES", "weird"]),
)
async def test_fuzzed_bodies_never_5xx_and_publish_nothing(fuzz_gateway, endpoint, body, signed, encrypt_type):
    gw = fuzz_gateway
    token = DEV_MP_TOKEN if "/mp/" in endpoint else DEV_OA_TOKEN
    params = gw.signed_query(token) if signed else {"timestamp": str(int(time.time()))}
    if encrypt_type:
        params["encrypt_type"] = encrypt_type
        params["msg_signature"] = "0" * 40
    headers = {"Wechatpay-Timestamp": str(int(time.time())), "Wechatpay-Nonce": "n",
               "Wechatpay-Signature": "AAAA", "Wechatpay-Serial": "x"} if "pay" in endpoint else {}
    response = await gw.client.post(endpoint, params=params, content=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    # Signed garbage may be a well-formed push by chance; unsigned or unverifiable input never is.
    if not signed or "pay" in endpoint or encrypt_type:
        assert response.status_code >= 400 or response.text == "success"


@pytest.fixture(scope="module")
async def fuzz_gateway(infra, pytestconfig):
    """One gateway for all fuzz examples (a fresh app per example would dominate the run)."""
    import uuid
    from pathlib import Path

    from gateway.config import GatewaySettings
    from gateway.main import create_app
    from qunyun_local.devkeys import ensure_dev_pay_keys
    from shared.testing.infra import drop_database, migrated_database
    from shared.testing.plugin import run_app

    from .conftest import Gateway

    name = await migrated_database(infra, "gateway")
    pay_env = ensure_dev_pay_keys(Path(infra.data_dir))
    settings = GatewaySettings(
        _env_file=None, environment="test", database_url=infra.server_uri, database_name=name,
        kafka_bootstrap_servers=infra.bootstrap, kafka_namespace=f"f{uuid.uuid4().hex[:6]}.",
        pay_apiv3_key=pay_env["QUNYUN_PAY_APIV3_KEY"],
        pay_platform_public_key_file=pay_env["QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE"],
        pay_platform_key_id=pay_env["QUNYUN_PAY_PLATFORM_KEY_ID"],
    )
    app = create_app(settings)
    async with run_app(app) as client:
        yield Gateway(app=app, client=client, settings=settings, pay_env=pay_env)
        async with app.state.runtime.session_factory() as session:
            leaked = (await session.scalars(select(OutboxMessage).where(
                OutboxMessage.type.in_(["wechat.inbound.payment_succeeded", "wechat.inbound.refund_updated"])
            ))).all()
        assert leaked == [], "an unverifiable pay notification was published"
    await drop_database(infra.server_uri, name)
