"""WeChat Pay v3 signatures and notification crypto.

Messages are signed as newline-terminated lines with RSA-SHA256 (PKCS#1 v1.5),
base64; notification resources are AEAD_AES_256_GCM under the 32-byte APIv3 key.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.wechat.errors import WeChatCryptoError

SCHEME = "WECHATPAY2-SHA256-RSA2048"
PrivateKeyLike = RSAPrivateKey | bytes | str
PublicKeyLike = RSAPublicKey | bytes | str
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_AUTH_FIELDS = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")


def sign_message(*parts: str) -> bytes:
    """The signed string: each part followed by a newline."""
    return "".join(f"{part}\n" for part in parts).encode()


def nonce_str() -> str:
    """A random 32-character nonce."""
    return secrets.token_hex(16).upper()


def _private_key(key: PrivateKeyLike) -> RSAPrivateKey:
    if isinstance(key, RSAPrivateKey):
        return key
    loaded = serialization.load_pem_private_key(key.encode() if isinstance(key, str) else key, password=None)
    if not isinstance(loaded, RSAPrivateKey):
        raise ValueError("WeChat Pay keys are RSA keys")
    return loaded


def _public_key(key: PublicKeyLike) -> RSAPublicKey:
    if isinstance(key, RSAPublicKey):
        return key
    pem = key.encode() if isinstance(key, str) else key
    loaded = (
        x509.load_pem_x509_certificate(pem).public_key()
        if b"BEGIN CERTIFICATE" in pem
        else serialization.load_pem_public_key(pem)
    )
    if not isinstance(loaded, RSAPublicKey):
        raise ValueError("WeChat Pay keys are RSA keys")
    return loaded


def rsa_sign(private_key: PrivateKeyLike, message: bytes) -> str:
    """Base64 RSA-SHA256 (PKCS#1 v1.5) signature of ``message``."""
    signature = _private_key(private_key).sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa_verify(public_key: PublicKeyLike, message: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` is a valid RSA-SHA256 signature of ``message``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        _public_key(public_key).verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_request(
    method: str,
    url_path_with_query: str,
    body: str,
    mchid: str,
    serial_no: str,
    private_key_pem: PrivateKeyLike,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    """The ``Authorization`` header value for a merchant request to WeChat Pay."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or nonce_str()
    message = sign_message(method.upper(), url_path_with_query, ts, nonce, body)
    signature = rsa_sign(private_key_pem, message)
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",timestamp="{ts}",'
        f'serial_no="{serial_no}",signature="{signature}"'
    )


def parse_authorization(header: str) -> dict[str, str]:
    """Split an ``Authorization`` header into its fields; raise WeChatCryptoError if malformed."""
    scheme, _, params = header.strip().partition(" ")
    if scheme != SCHEME:
        raise WeChatCryptoError("unknown authorization scheme")
    fields = dict(_AUTH_PARAM.findall(params))
    missing = [name for name in _AUTH_FIELDS if not fields.get(name)]
    if missing:
        raise WeChatCryptoError(f"authorization lacks {', '.join(missing)}")
    return fields


def _check_fresh(timestamp: str, max_skew_seconds: int, now: float | None) -> None:
    if not timestamp.isdigit():
        raise WeChatCryptoError("timestamp is not a number")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_skew_seconds:
        # wechatpayv3 skips this check; without it a captured message replays forever.
        raise WeChatCryptoError("timestamp outside the allowed skew")


def verify_request(
    method: str,
    url_path_with_query: str,
    body: str,
    authorization: str,
    public_keys: Mapping[str, PublicKeyLike],
    *,
    mchid: str | None = None,
    max_skew_seconds: int = 300,
    now: float | None = None,
) -> dict[str, str]:
    """Verify a merchant's signed request (WeChat Pay's side); return the parsed header."""
    fields = parse_authorization(authorization)
    if mchid is not None and fields["mchid"] != mchid:
        raise WeChatCryptoError("mchid does not match")
    key = public_keys.get(fields["serial_no"])
    if key is None:
        raise WeChatCryptoError("unknown merchant certificate serial")
    _check_fresh(fields["timestamp"], max_skew_seconds, now)
    message = sign_message(
        method.upper(), url_path_with_query, fields["timestamp"], fields["nonce_str"], body
    )
    if not rsa_verify(key, message, fields["signature"]):
        raise WeChatCryptoError("bad request signature")
    return fields


def jsapi_pay_params(
    appid: str,
    prepay_id: str,
    private_key_pem: PrivateKeyLike,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The parameters the mini-program passes to ``wx.requestPayment``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or nonce_str()
    package = f"prepay_id={prepay_id}"
    pay_sign = rsa_sign(private_key_pem, sign_message(appid, ts, nonce, package))
    return {
        "appId": appid,
        "timeStamp": ts,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": pay_sign,
    }


def sign_notification(
    body: bytes | str,
    private_key_pem: PrivateKeyLike,
    serial: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers WeChat Pay puts on a notification or response (platform side)."""
    text = body.decode() if isinstance(body, bytes) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or nonce_str()
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(private_key_pem, sign_message(ts, nonce, text)),
        "Wechatpay-Serial": serial,
    }


def verify_notification(
    headers: Mapping[str, str],
    body: bytes,
    public_keys: Mapping[str, PublicKeyLike],
    max_skew_seconds: int = 300,
    *,
    now: float | None = None,
) -> None:
    """Verify the platform signature of a notification or response; raise WeChatCryptoError."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        ts = lowered["wechatpay-timestamp"]
        nonce = lowered["wechatpay-nonce"]
        signature = lowered["wechatpay-signature"]
        serial = lowered["wechatpay-serial"]
    except KeyError as exc:
        raise WeChatCryptoError(f"missing header {exc.args[0]}") from exc
    key = public_keys.get(serial)
    if key is None:
        raise WeChatCryptoError("unknown platform serial")
    _check_fresh(ts, max_skew_seconds, now)
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise WeChatCryptoError("body is not UTF-8") from exc
    if not rsa_verify(key, sign_message(ts, nonce, text), signature):
        raise WeChatCryptoError("bad platform signature")


def _apiv3_key(apiv3_key: str | bytes) -> bytes:
    key = apiv3_key.encode() if isinstance(apiv3_key, str) else apiv3_key
    if len(key) != 32:
        raise ValueError("the APIv3 key must be 32 bytes")
    return key


def encrypt_resource(
    apiv3_key: str | bytes,
    plaintext: dict[str, Any],
    associated_data: str,
    *,
    original_type: str = "transaction",
    nonce: str | None = None,
) -> dict[str, str]:
    """Encrypt a notification resource with AEAD_AES_256_GCM (platform side)."""
    nonce = nonce or secrets.token_hex(6)  # WeChat uses a 12-character nonce
    data = json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = AESGCM(_apiv3_key(apiv3_key)).encrypt(nonce.encode(), data, associated_data.encode())
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def decrypt_resource(apiv3_key: str | bytes, resource: Mapping[str, Any]) -> dict[str, Any]:
    """Decrypt a notification ``resource``; raise WeChatCryptoError if it does not authenticate."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise WeChatCryptoError("unsupported resource algorithm")
    try:
        ciphertext = base64.b64decode(str(resource["ciphertext"]), validate=True)
        nonce = str(resource["nonce"]).encode()
        associated = str(resource.get("associated_data") or "").encode()
        plaintext = AESGCM(_apiv3_key(apiv3_key)).decrypt(nonce, ciphertext, associated)
        payload = json.loads(plaintext)
    except (KeyError, InvalidTag, binascii.Error, ValueError) as exc:
        raise WeChatCryptoError("resource does not decrypt") from exc
    if not isinstance(payload, dict):
        raise WeChatCryptoError("resource is not a JSON object")
    return payload


def load_private_key(path: str | os.PathLike[str]) -> RSAPrivateKey:
    """Load an RSA private key from a PEM file (e.g. ``apiclient_key.pem``)."""
    return _private_key(Path(path).read_bytes())


def load_public_key_or_cert(path: str | os.PathLike[str]) -> RSAPublicKey:
    """Load an RSA public key from a PEM public key or certificate file."""
    return _public_key(Path(path).read_bytes())


def certificate_serial(path_or_pem: str | os.PathLike[str] | bytes) -> str:
    """The serial number of a PEM certificate as WeChat writes it (upper-case hex)."""
    pem = path_or_pem if isinstance(path_or_pem, bytes) else Path(path_or_pem).read_bytes()
    return format(x509.load_pem_x509_certificate(pem).serial_number, "X")


def platform_public_keys(
    cert_file: str | os.PathLike[str] | None = None,
    public_key_file: str | os.PathLike[str] | None = None,
    public_key_id: str | None = None,
) -> dict[str, RSAPublicKey]:
    """The platform keys a merchant trusts, by ``Wechatpay-Serial`` (cert serial or key id)."""
    keys: dict[str, RSAPublicKey] = {}
    if cert_file is not None:
        keys[certificate_serial(cert_file)] = load_public_key_or_cert(cert_file)
    if public_key_file is not None:
        if not public_key_id:
            raise ValueError("a platform public key needs its key id (PUB_KEY_ID_…)")
        keys[public_key_id] = load_public_key_or_cert(public_key_file)
    return keys
