"""Mini-program encryptedData, checked against wechatpy and raw cryptography."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.wechat.errors import WeChatCryptoError
from shared.wechat.miniprogram import (
    decrypt_encrypted_data,
    encrypt_data,
    open_gid_from,
    phone_info_from,
    watermark,
)

APPID = "wx1234567890abcdef"
SESSION_KEY = base64.b64encode(os.urandom(16)).decode()


def test_round_trip_and_watermark() -> None:
    payload = {"openGId": "tGabc", "watermark": watermark(APPID, 1700000000)}
    data, iv = encrypt_data(SESSION_KEY, payload)
    assert decrypt_encrypted_data(SESSION_KEY, data, iv, APPID) == payload


def test_data_encrypted_independently_decrypts() -> None:
    payload = {
        "phoneNumber": "13800138000",
        "purePhoneNumber": "13800138000",
        "countryCode": "86",
        "watermark": {"appid": APPID, "timestamp": 1700000000},
    }
    key, iv = base64.b64decode(SESSION_KEY), os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(json.dumps(payload).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    data = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
    result = decrypt_encrypted_data(SESSION_KEY, data, base64.b64encode(iv).decode(), APPID)
    assert phone_info_from(result).pure_phone_number == "13800138000"


def test_our_data_decrypts_with_wechatpy() -> None:
    crypto = pytest.importorskip("wechatpy.crypto")
    payload = {"opengid": "tGxyz", "chat_type": 3, "watermark": watermark(APPID)}
    data, iv = encrypt_data(SESSION_KEY, payload)
    assert crypto.WeChatWxaCrypto(SESSION_KEY, iv, APPID).decrypt_message(data) == payload


def test_stale_session_key_fails_cleanly() -> None:
    data, iv = encrypt_data(SESSION_KEY, {"openGId": "g", "watermark": watermark(APPID)})
    stale = base64.b64encode(os.urandom(16)).decode()
    with pytest.raises(WeChatCryptoError):
        decrypt_encrypted_data(stale, data, iv, APPID)


def test_other_appid_is_rejected() -> None:
    data, iv = encrypt_data(SESSION_KEY, {"openGId": "g", "watermark": watermark("wxother")})
    with pytest.raises(WeChatCryptoError, match="watermark"):
        decrypt_encrypted_data(SESSION_KEY, data, iv, APPID)
    data, iv = encrypt_data(SESSION_KEY, {"openGId": "g"})
    with pytest.raises(WeChatCryptoError, match="watermark"):
        decrypt_encrypted_data(SESSION_KEY, data, iv, APPID)


@pytest.mark.parametrize(
    ("key", "data", "iv"),
    [
        ("!!", "AAAA", base64.b64encode(b"0" * 16).decode()),
        (SESSION_KEY, "AAAA", base64.b64encode(b"0" * 8).decode()),
        (SESSION_KEY, base64.b64encode(b"x" * 15).decode(), base64.b64encode(b"0" * 16).decode()),
    ],
)
def test_malformed_inputs_raise_crypto_error(key: str, data: str, iv: str) -> None:
    with pytest.raises(WeChatCryptoError):
        decrypt_encrypted_data(key, data, iv, APPID)


def test_group_and_phone_normalisation() -> None:
    assert open_gid_from({"openGId": "a"}) == "a"
    assert open_gid_from({"opengid": "b", "group_openid": "x"}) == "b"
    assert open_gid_from({}) is None
    info = phone_info_from({"phoneNumber": "+1 5550100", "purePhoneNumber": "5550100", "countryCode": 1})
    assert info.country_code == "1"
    assert info.phone_number == "+1 5550100"
