"""WeChat Pay v3 signatures, notification crypto and the platform certificates.

Messages are signed as newline-terminated lines with RSA-SHA256 (PKCS#1 v1.5),
base64; notification resources and downloaded platform certificates are
AEAD_AES_256_GCM under the 32-byte APIv3 key. Every notification *and every API
answer* carries the platform signature (``Wechatpay-*`` headers), checked with
:func:`verify_notification` against a :class:`PlatformKeyring`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
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
CERTIFICATES_PATH = "/v3/certificates"
CERTIFICATE_ASSOCIATED_DATA = "certificate"
PrivateKeyLike = RSAPrivateKey | bytes | str
PublicKeyLike = RSAPublicKey | bytes | str
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_AUTH_FIELDS = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")


class UnknownPlatformSerial(WeChatCryptoError):
    """Signed with a platform serial we do not know (yet): a rotation, or a forgery."""

    def __init__(self, serial: str) -> None:
        super().__init__("unknown platform serial")
        self.serial = serial


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
        raise UnknownPlatformSerial(serial)
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


def decrypt_ciphertext(apiv3_key: str | bytes, resource: Mapping[str, Any]) -> bytes:
    """The plaintext of an AEAD_AES_256_GCM ``resource``; raise WeChatCryptoError if it does not authenticate."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise WeChatCryptoError("unsupported resource algorithm")
    try:
        ciphertext = base64.b64decode(str(resource["ciphertext"]), validate=True)
        nonce = str(resource["nonce"]).encode()
        associated = str(resource.get("associated_data") or "").encode()
        return AESGCM(_apiv3_key(apiv3_key)).decrypt(nonce, ciphertext, associated)
    except (KeyError, InvalidTag, binascii.Error, ValueError) as exc:
        raise WeChatCryptoError("resource does not decrypt") from exc


def decrypt_resource(apiv3_key: str | bytes, resource: Mapping[str, Any]) -> dict[str, Any]:
    """Decrypt a notification ``resource``; raise WeChatCryptoError if it does not authenticate."""
    plaintext = decrypt_ciphertext(apiv3_key, resource)
    try:
        payload = json.loads(plaintext)
    except ValueError as exc:
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


_CHINA = timezone(timedelta(hours=8))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(_CHINA).isoformat(timespec="seconds")


def certificates_answer(
    apiv3_key: str | bytes, certificates: Iterable[bytes], *, nonce: str | None = None
) -> dict[str, Any]:
    """The body of ``GET /v3/certificates`` (platform side): each PEM encrypted with the APIv3 key."""
    data: list[dict[str, Any]] = []
    for pem in certificates:
        cert = x509.load_pem_x509_certificate(pem)
        item_nonce = nonce or secrets.token_hex(6)
        ciphertext = AESGCM(_apiv3_key(apiv3_key)).encrypt(
            item_nonce.encode(), pem, CERTIFICATE_ASSOCIATED_DATA.encode()
        )
        data.append(
            {
                "serial_no": format(cert.serial_number, "X"),
                "effective_time": _rfc3339(cert.not_valid_before_utc),
                "expire_time": _rfc3339(cert.not_valid_after_utc),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": item_nonce,
                    "associated_data": CERTIFICATE_ASSOCIATED_DATA,
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                },
            }
        )
    return {"data": data}


def read_certificates(
    apiv3_key: str | bytes, answer: Mapping[str, Any], *, now: float | None = None
) -> dict[str, RSAPublicKey]:
    """The platform keys of a ``GET /v3/certificates`` answer, by serial; raise WeChatCryptoError.

    Each certificate must decrypt (AES-GCM under the APIv3 key, so only WeChat
    Pay or the merchant could have written it), carry the serial it is listed
    under and be valid now; certificates not yet or no longer valid are left out.
    """
    items = answer.get("data")
    if not isinstance(items, list):
        raise WeChatCryptoError("certificates answer has no data list")
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    keys: dict[str, RSAPublicKey] = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("encrypt_certificate"), Mapping):
            raise WeChatCryptoError("certificate entry is malformed")
        pem = decrypt_ciphertext(apiv3_key, item["encrypt_certificate"])
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise WeChatCryptoError("certificate does not load") from exc
        serial = format(cert.serial_number, "X")
        if str(item.get("serial_no", "")).upper() != serial:
            raise WeChatCryptoError("certificate serial does not match its entry")
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            continue
        keys[serial] = _public_key(pem)
    return keys


class PlatformKeyring(Mapping[str, RSAPublicKey]):
    """The platform keys a merchant trusts, by ``Wechatpay-Serial``.

    ``fixed`` keys (the configured platform public key, by its ``PUB_KEY_ID_…``)
    stay; certificate keys start as the configured certificate and are replaced
    by each successful certificate download, so a rotation on WeChat Pay's side
    (a new serial appears, later the old one goes) needs no restart.
    """

    def __init__(
        self, fixed: Mapping[str, RSAPublicKey] | None = None,
        certificates: Mapping[str, RSAPublicKey] | None = None,
    ) -> None:
        self._fixed = dict(fixed or {})
        self._certificates = dict(certificates or {})
        self.refreshed_at: float | None = None

    def __getitem__(self, serial: str) -> RSAPublicKey:
        if serial in self._certificates:
            return self._certificates[serial]
        return self._fixed[serial]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._fixed, **self._certificates})

    def __len__(self) -> int:
        return len({**self._fixed, **self._certificates})

    @property
    def certificate_serials(self) -> list[str]:
        """The serials of the certificates currently trusted."""
        return sorted(self._certificates)

    def replace_certificates(self, certificates: Mapping[str, RSAPublicKey], *, now: float | None = None) -> list[str]:
        """Trust exactly ``certificates`` (a download) besides the fixed keys; returns the new serials."""
        added = sorted(set(certificates) - set(self._certificates))
        self._certificates = dict(certificates)
        self.refreshed_at = time.time() if now is None else now
        return added


def verify_certificates_answer(
    headers: Mapping[str, str],
    body: bytes,
    apiv3_key: str | bytes,
    keyring: Mapping[str, PublicKeyLike],
    *,
    max_skew_seconds: int = 300,
    now: float | None = None,
) -> dict[str, RSAPublicKey]:
    """Decrypt and verify a ``GET /v3/certificates`` answer; returns its certificates by serial.

    The answer may be signed by a certificate it brings (the first download,
    or just after a rotation): it is then checked with that certificate, which
    the APIv3 key has already authenticated.
    """
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise WeChatCryptoError("certificates answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise WeChatCryptoError("certificates answer is not a JSON object")
    certificates = read_certificates(apiv3_key, answer, now=now)
    verify_notification(
        headers, body, {**dict(keyring), **certificates}, max_skew_seconds, now=now
    )
    return certificates


def platform_keyring(
    cert_file: str | os.PathLike[str] | None = None,
    public_key_file: str | os.PathLike[str] | None = None,
    public_key_id: str | None = None,
) -> PlatformKeyring:
    """A :class:`PlatformKeyring` from the configured certificate and/or platform public key files."""
    certificates = platform_public_keys(cert_file=cert_file) if cert_file is not None else {}
    fixed = (
        platform_public_keys(public_key_file=public_key_file, public_key_id=public_key_id)
        if public_key_file is not None
        else {}
    )
    return PlatformKeyring(fixed, certificates)
