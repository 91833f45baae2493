"""WeChat Pay: signed orders, notifications with retries, refunds idempotent by out_refund_no."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.wechat import pay

ORDER_PATH = "/v3/pay/transactions/jsapi"


def _order(h, person: dict[str, Any], out_trade_no: str, total: int = 990, app: str = "mp") -> dict[str, Any]:
    return {
        "appid": h.settings.mp_appid if app == "mp" else h.settings.oa_appid,
        "mchid": h.env["QUNYUN_PAY_MCHID"],
        "description": "单词对赌 第3期",
        "out_trade_no": out_trade_no,
        "notify_url": "http://gateway.test/wechat/pay/notify",
        "amount": {"total": total, "currency": "CNY"},
        "payer": {"openid": person["mp_openid"] if app == "mp" else person["oa_openid"]},
    }


async def _paid_order(h, out_trade_no: str, total: int = 990) -> dict[str, Any]:
    person = await h.person()
    response = await h.pay_call("POST", ORDER_PATH, _order(h, person, out_trade_no, total))
    assert response.status_code == 200, response.text
    answer = await h.sim(f"/sim/people/{person['person_id']}/pay", {"out_trade_no": out_trade_no})
    assert answer == {"status": 200, "body": "", "attempts": 1}
    return person


async def test_prepay_requires_a_valid_merchant_signature(h, tmp_path: Path) -> None:
    person = await h.person()
    response = await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240501000001"))
    assert response.status_code == 200
    prepay_id = response.json()["prepay_id"]
    assert prepay_id.startswith("wx")
    # The answer is signed by the platform key, as real WeChat Pay signs it.
    keys = pay.platform_public_keys(
        h.settings.pay_platform_cert_file,
        h.settings.pay_platform_public_key_file,
        h.settings.pay_platform_key_id,
    )
    pay.verify_notification(response.headers, response.content, keys)
    again = await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240501000001"))
    assert again.json()["prepay_id"] == prepay_id
    changed = await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240501000001", total=1))
    assert changed.status_code == 400 and changed.json()["code"] == "INVALID_REQUEST"

    other_key = tmp_path / "other.pem"
    other_key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    forged = await h.pay_call(
        "POST", ORDER_PATH, _order(h, person, "R20240501000002"), key_file=str(other_key)
    )
    assert forged.status_code == 401 and forged.json()["code"] == "SIGN_ERROR"
    unsigned = await h.client.post(ORDER_PATH, json=_order(h, person, "R20240501000003"))
    assert unsigned.status_code == 401
    stranger = await h.pay_call(
        "POST", ORDER_PATH, {**_order(h, person, "R20240501000004"), "payer": {"openid": "ox"}}
    )
    assert stranger.status_code == 400


async def test_pay_notifies_and_query_shows_success(h) -> None:
    await _paid_order(h, "R20240501000010")
    (notification,) = h.gateway.pay_received
    assert notification["body"]["event_type"] == "TRANSACTION.SUCCESS"
    resource = notification["resource"]
    assert (resource["out_trade_no"], resource["trade_state"], resource["amount"]["payer_total"]) == (
        "R20240501000010",
        "SUCCESS",
        990,
    )
    query = await h.pay_call(
        "GET", f"/v3/pay/transactions/out-trade-no/R20240501000010?mchid={h.settings.pay_mchid}"
    )
    assert query.json()["trade_state"] == "SUCCESS"
    assert query.json()["transaction_id"] == resource["transaction_id"]
    close = await h.pay_call(
        "POST", "/v3/pay/transactions/out-trade-no/R20240501000010/close", {"mchid": "1"}
    )
    assert close.status_code == 400 and close.json()["code"] == "ORDERPAID"


async def test_unacknowledged_notification_is_retried_until_200(h) -> None:
    h.gateway.pay_statuses = [500, 503]
    person = await h.person()
    await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240501000020"))
    answer = await h.sim(f"/sim/people/{person['person_id']}/pay", {"out_trade_no": "R20240501000020"})
    assert answer["status"] == 500 and answer["attempts"] == 1
    await h.state.drain()
    assert len(h.gateway.pay_received) == 3
    assert len({n["body"]["id"] for n in h.gateway.pay_received}) == 1  # the same notification
    (log,) = (await h.client.get("/sim/pushes", params={"target": "pay"})).json()
    assert log["acknowledged"] is True and log["attempts"] == 3


async def test_refund_is_idempotent_by_out_refund_no(h) -> None:
    await _paid_order(h, "R20240501000030", total=1000)
    body = {
        "out_trade_no": "R20240501000030",
        "out_refund_no": "RF20240501000030a",
        "reason": "打卡达标退款",
        "amount": {"refund": 600, "total": 1000, "currency": "CNY"},
    }
    first = await h.pay_call("POST", "/v3/refund/domestic/refunds", body)
    assert first.status_code == 200 and first.json()["status"] == "PROCESSING"
    retry = await h.pay_call("POST", "/v3/refund/domestic/refunds", body)
    assert retry.json()["refund_id"] == first.json()["refund_id"]

    second = {**body, "out_refund_no": "RF20240501000030b", "amount": {"refund": 300, "total": 1000}}
    too_soon = await h.pay_call("POST", "/v3/refund/domestic/refunds", second)
    assert too_soon.status_code == 403 and too_soon.json()["code"] == "FREQUENCY_LIMITED"
    await h.sim("/sim/clock/advance", {"seconds": 61})
    too_much = {**second, "amount": {"refund": 401, "total": 1000}}
    assert (await h.pay_call("POST", "/v3/refund/domestic/refunds", too_much)).status_code == 400
    assert (await h.pay_call("POST", "/v3/refund/domestic/refunds", second)).status_code == 200

    await h.state.drain()
    refunds = [n for n in h.gateway.pay_received if n["body"]["event_type"] == "REFUND.SUCCESS"]
    assert sorted(n["resource"]["out_refund_no"] for n in refunds) == [
        "RF20240501000030a",
        "RF20240501000030b",
    ]
    assert {n["resource"]["refund_status"] for n in refunds} == {"SUCCESS"}
    status = await h.pay_call("GET", "/v3/refund/domestic/refunds/RF20240501000030a")
    assert status.json()["status"] == "SUCCESS"
    order = await h.pay_call("GET", "/v3/pay/transactions/out-trade-no/R20240501000030?mchid=1")
    assert order.json()["trade_state"] == "REFUND"


async def test_payment_opens_an_unlimited_service_account_window(h) -> None:
    person = await h.person()
    await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240501000040", app="oa"))
    await h.sim(f"/sim/people/{person['person_id']}/pay", {"out_trade_no": "R20240501000040"})
    token = await h.token("oa")
    for _ in range(8):
        await h.api.send_custom(
            token, {"touser": person["oa_openid"], "msgtype": "text", "text": {"content": "收据"}}
        )
