"""Mini-program ``encryptedData`` (phone, share info, group enter info).

AES-128-CBC, key = base64-decoded session_key, IV = base64-decoded ``iv``,
PKCS#7; the JSON plaintext carries ``watermark.appid``, which must be ours.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.wechat.errors import WeChatCryptoError


def _b64(value: str, what: str, size: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WeChatCryptoError(f"{what} is not valid base64") from exc
    if size is not None and len(raw) != size:
        raise WeChatCryptoError(f"{what} must be {size} bytes")
    return raw


def decrypt_encrypted_data(
    session_key_b64: str, encrypted_data_b64: str, iv_b64: str, appid: str
) -> dict[str, Any]:
    """Decrypt ``encryptedData`` and check its watermark; raise WeChatCryptoError on any failure."""
    key = _b64(session_key_b64, "session_key", 16)
    iv = _b64(iv_b64, "iv", 16)
    ciphertext = _b64(encrypted_data_b64, "encryptedData")
    if not ciphertext or len(ciphertext) % 16:
        raise WeChatCryptoError("encryptedData length is not a multiple of 16")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
        payload = json.loads(plaintext)
    except ValueError as exc:
        # A stale session_key lands here: the padding or the JSON is garbage.
        raise WeChatCryptoError("encryptedData does not decrypt (stale session_key?)") from exc
    if not isinstance(payload, dict):
        raise WeChatCryptoError("encryptedData is not a JSON object")
    watermark = payload.get("watermark")
    found = watermark.get("appid") if isinstance(watermark, dict) else None
    if not isinstance(found, str) or not hmac.compare_digest(found.encode(), appid.encode()):
        raise WeChatCryptoError("watermark appid is not ours")
    return payload


def encrypt_data(session_key_b64: str, payload: dict[str, Any], iv: bytes | None = None) -> tuple[str, str]:
    """Encrypt ``payload`` the way the client receives it; return ``(encryptedData, iv)``."""
    key = _b64(session_key_b64, "session_key", 16)
    iv = iv if iv is not None else os.urandom(16)
    if len(iv) != 16:
        raise ValueError("iv must be 16 bytes")
    padder = padding.PKCS7(128).padder()
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(ciphertext).decode(), base64.b64encode(iv).decode()


def watermark(appid: str, timestamp: int | None = None) -> dict[str, Any]:
    """The watermark WeChat puts in every decrypted payload."""
    return {"appid": appid, "timestamp": int(time.time()) if timestamp is None else timestamp}


def open_gid_from(payload: dict[str, Any]) -> str | None:
    """The group id from share info (``openGId``) or group enter info (``opengid``)."""
    for key in ("openGId", "opengid"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """A phone number from ``getuserphonenumber`` or legacy encrypted phone data."""

    phone_number: str
    pure_phone_number: str
    country_code: str


def phone_info_from(payload: dict[str, Any]) -> PhoneInfo:
    """Normalise ``phone_info`` / decrypted phone data; ``countryCode`` may be a number."""
    try:
        pure = str(payload["purePhoneNumber"])
        full = str(payload.get("phoneNumber") or pure)
        country = str(payload.get("countryCode", "86"))
    except KeyError as exc:
        raise WeChatCryptoError("phone data without purePhoneNumber") from exc
    return PhoneInfo(phone_number=full, pure_phone_number=pure, country_code=country)
