"""WeChat Pay answers are believed only with a valid platform signature; platform certificates rotate.

The order query that confirms a late payment is the case that matters: a
forged or unsigned "SUCCESS" must leave the registration awaiting payment (and
let it expire), while a genuine answer, even one signed by a platform
certificate that appeared after start-up, confirms it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from campaign_service import scheduler
from campaign_service.payments.wechatpay import INVALID_SIGNATURE
from shared.wechat.pay import sign_request

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _forged_success(total: int) -> dict[str, object]:
    return {
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "transaction_id": "4200002026120100000000000001",
        "success_time": "2026-12-01T10:00:00+08:00",
        "amount": {"total": total, "payer_total": total, "currency": "CNY"},
    }


async def _register(c, period: dict, no: int) -> tuple[dict, dict, dict]:
    person = await c.person(no)
    url = f"/mp/v1/periods/{period['id']}/registrations"
    r = await c.client.post(url, json={}, headers=c.member(no) | {"Idempotency-Key": f"answers-{no}"})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "awaiting_payment"
    return person, r.json(), r.json()["order"]


async def _mine(c, no: int) -> dict:
    mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(no))).json()
    return mine[0]["registration"]


async def test_a_forged_or_unsigned_success_never_marks_a_registration_paid(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=5, fee_fen=9900)
        person, registration, order = await _register(c, period, 31001)
        query_path = f"/v3/pay/transactions/out-trade-no/{order['out_trade_no']}"
        check = f"/mp/v1/me/registrations/{registration['id']}/payment-check"

        for fault in (
            {"answer": "forged", "answer_patch": _forged_success(9900)},
            {"answer": "unsigned", "answer_patch": _forged_success(9900)},
        ):
            added = await c.sim.post("/sim/faults", json={"path": query_path, **fault})
            assert added.status_code == 200, added.text
            checked = await c.client.post(check, headers=c.member(31001))
            assert checked.status_code == 502, checked.text
            assert checked.json()["wechatpay_code"] == INVALID_SIGNATURE
            assert (await _mine(c, 31001))["state"] == "awaiting_payment"

        # The genuine, signed answer still confirms a real payment.
        paid = await c.sim.post(
            f"/sim/people/{person['person_id']}/pay", json={"out_trade_no": order["out_trade_no"]}
        )
        assert paid.status_code == 200, paid.text
        confirmed = await c.client.post(check, headers=c.member(31001))
        assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed"

        # The scheduler's query before expiring an unpaid order: a forged SUCCESS expires it, unpaid.
        _, _, unpaid = await _register(c, period, 31002)
        await c.sim.post(
            "/sim/faults",
            json={
                "path": f"/v3/pay/transactions/out-trade-no/{unpaid['out_trade_no']}",
                "answer": "forged",
                "answer_patch": _forged_success(9900),
            },
        )
        c.set_now(datetime.now(SHANGHAI) + timedelta(minutes=16))
        await scheduler.tick(c.runtime)
        assert (await _mine(c, 31002))["state"] == "expired"
        assert (await _mine(c, 31001))["state"] == "confirmed"


async def test_a_platform_certificate_rotation_is_picked_up_without_restart(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        pay_client = c.runtime.extras["pay"]
        before = set(pay_client.platform_keys)
        period = await c.open_period(capacity=5, fee_fen=5000)
        person, registration, order = await _register(c, period, 31101)

        rotation = (await c.sim.post("/sim/pay/platform-certificates/rotate", json={"keep_old": True})).json()
        assert rotation["serial"] not in before
        paid = await c.sim.post(
            f"/sim/people/{person['person_id']}/pay", json={"out_trade_no": order["out_trade_no"]}
        )
        assert paid.status_code == 200, paid.text
        # The query answer is signed with the new serial: the client downloads the certificates, verifies, confirms.
        checked = await c.client.post(
            f"/mp/v1/me/registrations/{registration['id']}/payment-check", headers=c.member(31101)
        )
        assert checked.status_code == 200, checked.text
        assert checked.json()["state"] == "confirmed"
        assert rotation["serial"] in pay_client.platform_keys
        assert rotation["previous_serial"] in pay_client.platform_keys  # the public key id stays trusted

        # A forged answer under the new serial is still refused.
        _, registration2, order2 = await _register(c, period, 31102)
        await c.sim.post(
            "/sim/faults",
            json={
                "path": f"/v3/pay/transactions/out-trade-no/{order2['out_trade_no']}",
                "answer": "forged",
                "answer_patch": _forged_success(5000),
            },
        )
        refused = await c.client.post(
            f"/mp/v1/me/registrations/{registration2['id']}/payment-check", headers=c.member(31102)
        )
        assert refused.status_code == 502
        assert (await _mine(c, 31102))["state"] == "awaiting_payment"


async def test_a_genuine_answer_about_another_order_is_no_answer(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=5, fee_fen=3000)
        payer, _, paid_order = await _register(c, period, 31201)
        _, registration, _ = await _register(c, period, 31202)
        paid = await c.sim.post(
            f"/sim/people/{payer['person_id']}/pay", json={"out_trade_no": paid_order["out_trade_no"]}
        )
        assert paid.status_code == 200
        pay_client = c.runtime.extras["pay"]
        # Record the genuine, signed SUCCESS answer about the paid order ...
        mchid = pay_client.mchid
        recorded = await c.sim.get(
            f"/v3/pay/transactions/out-trade-no/{paid_order['out_trade_no']}?mchid={mchid}",
            headers={
                "Authorization": sign_request(
                    "GET",
                    f"/v3/pay/transactions/out-trade-no/{paid_order['out_trade_no']}?mchid={mchid}",
                    "",
                    mchid,
                    pay_client.serial_no,
                    pay_client.private_key,
                )
            },
        )
        assert recorded.status_code == 200 and recorded.json()["trade_state"] == "SUCCESS"

        # ... and replay it as the answer to the query about the unpaid one.
        def replay(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=dict(recorded.headers), content=recorded.content)

        async with httpx.AsyncClient(transport=httpx.MockTransport(replay)) as http:
            c.runtime.extras["pay"] = dataclasses.replace(pay_client, http=http)
            try:
                refused = await c.client.post(
                    f"/mp/v1/me/registrations/{registration['id']}/payment-check", headers=c.member(31202)
                )
            finally:
                c.runtime.extras["pay"] = pay_client
        assert refused.status_code == 502
        assert refused.json()["wechatpay_code"] == "ANSWER_MISMATCH"
        assert (await _mine(c, 31202))["state"] == "awaiting_payment"
