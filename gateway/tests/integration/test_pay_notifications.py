"""WeChat Pay notifications built with the cryptography primitives directly."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def notification(gateway, *, event_type="TRANSACTION.SUCCESS", notification_id=None, resource=None,
                 timestamp=None, key_file=None, serial=None):
    """(headers, body) of a signed, encrypted notification, as WeChat Pay sends it."""
    env = gateway.pay_env
    resource = resource or {
        "appid": "wx1234567890abcdef", "mchid": env["QUNYUN_PAY_MCHID"], "out_trade_no": "Q20261123001",
        "transaction_id": "4200000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
        "success_time": "2026-11-23T10:00:00+08:00", "payer": {"openid": "oPAYER"},
        "amount": {"total": 9900, "payer_total": 9900, "currency": "CNY"},
    }
    nonce = secrets.token_hex(6)
    aad = "transaction"
    ciphertext = AESGCM(env["QUNYUN_PAY_APIV3_KEY"].encode()).encrypt(
        nonce.encode(), json.dumps(resource).encode(), aad.encode())
    body = json.dumps({
        "id": notification_id or secrets.token_hex(8), "create_time": "2026-11-23T10:00:01+08:00",
        "event_type": event_type, "resource_type": "encrypt-resource", "summary": "支付成功",
        "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
                     "associated_data": aad, "nonce": nonce, "original_type": "transaction"},
    })
    ts = str(timestamp or int(time.time()))
    header_nonce = secrets.token_hex(8)
    key = serialization.load_pem_private_key(
        Path(key_file or env["WECHAT_SIM_PLATFORM_KEY_FILE"]).read_bytes(), password=None)
    signature = key.sign(f"{ts}\n{header_nonce}\n{body}\n".encode(), padding.PKCS1v15(), hashes.SHA256())
    headers = {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": header_nonce,
               "Wechatpay-Signature": base64.b64encode(signature).decode(),
               "Wechatpay-Serial": serial or env["QUNYUN_PAY_PLATFORM_KEY_ID"],
               "Content-Type": "application/json"}
    return headers, body


async def test_verified_payment_is_recorded_once(gateway):
    headers, body = notification(gateway, notification_id="N-1")
    for _ in range(3):  # WeChat Pay may deliver the same notification again
        response = await gateway.client.post("/wechat/pay/notify", headers=headers, content=body)
        assert response.status_code in (200, 204)
    [row] = await gateway.outbox("wechat.inbound.payment_succeeded")
    data = row.envelope["data"]
    assert (data["out_trade_no"], data["transaction_id"], data["amount_total"], data["payer_openid"]) == (
        "Q20261123001", "4200000001", 9900, "oPAYER")
    assert row.key == "Q20261123001"


async def test_certificate_serial_is_accepted_too(gateway):
    from shared.wechat.pay import certificate_serial

    serial = certificate_serial(gateway.pay_env["QUNYUN_PAY_PLATFORM_CERT_FILE"])
    headers, body = notification(gateway, serial=serial)
    assert (await gateway.client.post("/wechat/pay/notify", headers=headers, content=body)).status_code == 204


async def test_forged_stale_or_tampered_notifications_are_refused(gateway, tmp_path):
    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric import rsa

    other.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    headers, body = notification(gateway, key_file=other)
    assert (await gateway.client.post("/wechat/pay/notify", headers=headers, content=body)).status_code == 401
    headers, body = notification(gateway, timestamp=int(time.time()) - 3600)
    assert (await gateway.client.post("/wechat/pay/notify", headers=headers, content=body)).status_code == 401
    headers, body = notification(gateway)
    tampered = body.replace('"encrypt-resource"', '"encrypt-resourcE"')
    assert tampered != body
    assert (await gateway.client.post("/wechat/pay/notify", headers=headers, content=tampered)).status_code == 401
    headers, body = notification(gateway, serial="UNKNOWN")
    assert (await gateway.client.post("/wechat/pay/notify", headers=headers, content=body)).status_code == 401
    assert await gateway.outbox() == []


async def test_refund_notification(gateway):
    resource = {"mchid": gateway.pay_env["QUNYUN_PAY_MCHID"], "out_trade_no": "Q1", "transaction_id": "42",
                "out_refund_no": "R1", "refund_id": "5000", "refund_status": "SUCCESS",
                "amount": {"total": 9900, "refund": 4950, "payer_total": 9900, "payer_refund": 4950}}
    headers, body = notification(gateway, event_type="REFUND.SUCCESS", resource=resource)
    response = await gateway.client.post("/wechat/pay/refund-notify", headers=headers, content=body)
    assert response.status_code == 200
    [row] = await gateway.outbox("wechat.inbound.refund_updated")
    assert (row.envelope["data"]["out_refund_no"], row.envelope["data"]["amount_refund"]) == ("R1", 4950)


def test_fixture_keys_exist(gateway_factory, infra):
    from qunyun_local.devkeys import ensure_dev_pay_keys

    env = ensure_dev_pay_keys(Path(infra.data_dir))
    assert os.path.exists(env["WECHAT_SIM_PLATFORM_KEY_FILE"])
