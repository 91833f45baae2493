"""WeChat Pay v3 signatures and resources, checked against raw cryptography and wechatpayv3."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.wechat import pay
from shared.wechat.errors import WeChatCryptoError

APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"
SERIAL = "PUB_KEY_ID_0119000001092025000000000001"


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _raw_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _raw_notification(
    key: rsa.RSAPrivateKey, timestamp: int
) -> tuple[dict[str, str], bytes, dict[str, object]]:
    """A TRANSACTION.SUCCESS notification built only from cryptography primitives."""
    transaction = {
        "appid": "wx1234567890abcdef",
        "mchid": "1900000109",
        "out_trade_no": "R20240101000001",
        "transaction_id": "4200000000202401010000000001",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "success_time": "2024-01-01T12:00:00+08:00",
        "payer": {"openid": "oUser"},
        "amount": {"total": 990, "payer_total": 990, "currency": "CNY", "payer_currency": "CNY"},
    }
    nonce = "fdasflkja484"
    ciphertext = AESGCM(APIV3_KEY.encode()).encrypt(
        nonce.encode(), json.dumps(transaction).encode(), b"transaction"
    )
    body = json.dumps(
        {
            "id": "EV-2018022511223320873",
            "create_time": "2024-01-01T12:00:01+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
    ).encode()
    header_nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
    headers = {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature": _raw_sign(key, f"{timestamp}\n{header_nonce}\n{body.decode()}\n"),
        "Wechatpay-Serial": SERIAL,
    }
    return headers, body, transaction


def test_raw_notification_verifies_and_decrypts(platform_key: rsa.RSAPrivateKey) -> None:
    headers, body, transaction = _raw_notification(platform_key, int(time.time()))
    keys = {SERIAL: platform_key.public_key()}
    pay.verify_notification(headers, body, keys)
    # Header names are case-insensitive on the wire.
    pay.verify_notification({k.lower(): v for k, v in headers.items()}, body, keys)
    assert pay.decrypt_resource(APIV3_KEY, json.loads(body)["resource"]) == transaction


def test_stale_or_future_timestamp_is_rejected(platform_key: rsa.RSAPrivateKey) -> None:
    keys = {SERIAL: platform_key.public_key()}
    for skew in (-301, 301):
        headers, body, _ = _raw_notification(platform_key, int(time.time()) + skew)
        with pytest.raises(WeChatCryptoError, match="skew"):
            pay.verify_notification(headers, body, keys)


def test_unknown_serial_tampering_and_missing_headers(
    platform_key: rsa.RSAPrivateKey, merchant_key: rsa.RSAPrivateKey
) -> None:
    headers, body, _ = _raw_notification(platform_key, int(time.time()))
    with pytest.raises(WeChatCryptoError, match="serial"):
        pay.verify_notification(headers, body, {"OTHER": platform_key.public_key()})
    with pytest.raises(WeChatCryptoError, match="signature"):
        pay.verify_notification(
            headers, body.replace(b"EV-2018", b"EV-2019"), {SERIAL: platform_key.public_key()}
        )
    with pytest.raises(WeChatCryptoError, match="signature"):
        pay.verify_notification(headers, body, {SERIAL: merchant_key.public_key()})
    del headers["Wechatpay-Nonce"]
    with pytest.raises(WeChatCryptoError, match="missing"):
        pay.verify_notification(headers, body, {SERIAL: platform_key.public_key()})


def test_resource_round_trip_and_tamper() -> None:
    resource = pay.encrypt_resource(APIV3_KEY, {"out_refund_no": "RF1"}, "refund", original_type="refund")
    assert pay.decrypt_resource(APIV3_KEY, resource) == {"out_refund_no": "RF1"}
    with pytest.raises(WeChatCryptoError):
        pay.decrypt_resource(APIV3_KEY, {**resource, "associated_data": "transaction"})
    with pytest.raises(WeChatCryptoError):
        pay.decrypt_resource("x" * 32, resource)
    with pytest.raises(WeChatCryptoError):
        pay.decrypt_resource(APIV3_KEY, {**resource, "algorithm": "AES_CBC"})


def test_our_resource_decrypts_with_wechatpayv3() -> None:
    utils = pytest.importorskip("wechatpayv3.utils")
    resource = pay.encrypt_resource(APIV3_KEY, {"trade_state": "SUCCESS"}, "transaction")
    plain = utils.aes_decrypt(resource["nonce"], resource["ciphertext"], "transaction", APIV3_KEY)
    assert json.loads(plain) == {"trade_state": "SUCCESS"}


def test_sign_notification_round_trip(platform_key: rsa.RSAPrivateKey) -> None:
    body = b'{"id":"x"}'
    headers = pay.sign_notification(body, platform_key, SERIAL)
    pay.verify_notification(headers, body, {SERIAL: platform_key.public_key()})


def test_request_signed_by_wechatpayv3_verifies(merchant_key: rsa.RSAPrivateKey) -> None:
    utils = pytest.importorskip("wechatpayv3.utils")
    body = json.dumps({"appid": "wx1", "amount": {"total": 1}})
    header = utils.build_authorization(
        "/v3/pay/transactions/jsapi", "POST", "1900000109", "ABC123", merchant_key, data=body
    )
    fields = pay.verify_request(
        "POST",
        "/v3/pay/transactions/jsapi",
        body,
        header,
        {"ABC123": merchant_key.public_key()},
        mchid="1900000109",
    )
    assert fields["serial_no"] == "ABC123"


def test_our_request_signature_verifies_with_raw_key(merchant_key: rsa.RSAPrivateKey) -> None:
    pem = merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    header = pay.sign_request("get", "/v3/pay/transactions/out-trade-no/R1?mchid=1", "", "1", "S1", pem)
    fields = pay.parse_authorization(header)
    message = (
        f"GET\n/v3/pay/transactions/out-trade-no/R1?mchid=1\n{fields['timestamp']}\n{fields['nonce_str']}\n\n"
    )
    merchant_key.public_key().verify(
        base64.b64decode(fields["signature"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    with pytest.raises(WeChatCryptoError):
        pay.verify_request("GET", "/v3/other", "", header, {"S1": merchant_key.public_key()})
    with pytest.raises(WeChatCryptoError, match="mchid"):
        pay.verify_request("GET", "/v3/x", "", header, {"S1": merchant_key.public_key()}, mchid="2")


@pytest.mark.parametrize(
    "header",
    ["Bearer x", 'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n"', ""],
)
def test_malformed_authorization(header: str) -> None:
    with pytest.raises(WeChatCryptoError):
        pay.parse_authorization(header)


def test_jsapi_pay_params(merchant_key: rsa.RSAPrivateKey) -> None:
    params = pay.jsapi_pay_params("wx1", "wx201410272009395522657a690389285100", merchant_key)
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert params["signType"] == "RSA"
    message = f"wx1\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    assert pay.rsa_verify(merchant_key.public_key(), message, params["paySign"])


def test_key_file_helpers(tmp_path: Path, platform_key: rsa.RSAPrivateKey) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        platform_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pub_file = tmp_path / "pub.pem"
    pub_file.write_bytes(
        platform_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    loaded = pay.load_private_key(key_file)
    assert loaded.public_key().public_numbers() == platform_key.public_key().public_numbers()
    keys = pay.platform_public_keys(public_key_file=pub_file, public_key_id=SERIAL)
    assert keys[SERIAL].public_numbers() == platform_key.public_key().public_numbers()


def _certificate(key: rsa.RSAPrivateKey, *, days: int = 365, start_days_ago: int = 1) -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platform (test)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=start_days_ago))
        .not_valid_after(now + dt.timedelta(days=days - start_days_ago))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_certificates_answer_round_trip_and_checks(platform_key: rsa.RSAPrivateKey) -> None:
    pem = _certificate(platform_key)
    serial = pay.certificate_serial(pem)
    answer = pay.certificates_answer(APIV3_KEY, [pem])
    (entry,) = answer["data"]
    assert entry["serial_no"] == serial
    sealed = entry["encrypt_certificate"]
    # Independently: AES-256-GCM under the APIv3 key, associated data "certificate".
    raw = AESGCM(APIV3_KEY.encode()).decrypt(
        sealed["nonce"].encode(), base64.b64decode(sealed["ciphertext"]), b"certificate"
    )
    assert raw == pem
    utils = pytest.importorskip("wechatpayv3.utils")
    assert utils.aes_decrypt(sealed["nonce"], sealed["ciphertext"], "certificate", APIV3_KEY) == pem.decode()
    keys = pay.read_certificates(APIV3_KEY, answer)
    assert list(keys) == [serial]
    assert keys[serial].public_numbers() == platform_key.public_key().public_numbers()

    with pytest.raises(WeChatCryptoError):
        pay.read_certificates("x" * 32, answer)
    with pytest.raises(WeChatCryptoError, match="serial"):
        pay.read_certificates(APIV3_KEY, {"data": [{**entry, "serial_no": "ABCDEF"}]})
    with pytest.raises(WeChatCryptoError):
        pay.read_certificates(APIV3_KEY, {"data": "nope"})
    expired = _certificate(platform_key, days=2, start_days_ago=3)
    assert pay.read_certificates(APIV3_KEY, pay.certificates_answer(APIV3_KEY, [expired, pem])) == keys


def test_certificates_answer_verifies_by_a_certificate_it_brings(
    platform_key: rsa.RSAPrivateKey, merchant_key: rsa.RSAPrivateKey
) -> None:
    pem = _certificate(platform_key)
    serial = pay.certificate_serial(pem)
    body = json.dumps(pay.certificates_answer(APIV3_KEY, [pem])).encode()
    headers = pay.sign_notification(body, platform_key, serial)
    assert list(pay.verify_certificates_answer(headers, body, APIV3_KEY, {})) == [serial]
    # Signed by a key that is neither known nor in the answer.
    stranger = pay.sign_notification(body, merchant_key, "STRANGER")
    with pytest.raises(pay.UnknownPlatformSerial):
        pay.verify_certificates_answer(stranger, body, APIV3_KEY, {})
    # The serial of a listed certificate, the signature of another key.
    forged = pay.sign_notification(body, merchant_key, serial)
    with pytest.raises(WeChatCryptoError, match="signature"):
        pay.verify_certificates_answer(forged, body, APIV3_KEY, {})


def test_keyring_keeps_fixed_keys_and_replaces_certificates(
    platform_key: rsa.RSAPrivateKey, merchant_key: rsa.RSAPrivateKey
) -> None:
    ring = pay.PlatformKeyring({SERIAL: platform_key.public_key()}, {"OLD": merchant_key.public_key()})
    assert set(ring) == {SERIAL, "OLD"} and len(ring) == 2
    assert ring.replace_certificates({"NEW": platform_key.public_key()}, now=1.0) == ["NEW"]
    assert set(ring) == {SERIAL, "NEW"} and ring.refreshed_at == 1.0
    assert ring.certificate_serials == ["NEW"]
    body = b'{"prepay_id":"wx1"}'
    pay.verify_notification(pay.sign_notification(body, platform_key, "NEW"), body, ring)
    with pytest.raises(pay.UnknownPlatformSerial) as unknown:
        pay.verify_notification(pay.sign_notification(body, merchant_key, "OLD"), body, ring)
    assert unknown.value.serial == "OLD"
