"""The keys the simulated WeChat Pay uses: platform private key, merchant certificate, APIv3 key.

The platform signs with one key at a time. ``GET /v3/certificates`` lists every
platform certificate still valid; a rotation (control API) adds a new key and
certificate and signs with it from then on, while the old certificate stays
listed, as WeChat Pay does while merchants switch over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509.oid import NameOID

from shared.wechat.pay import certificate_serial, load_private_key, load_public_key_or_cert
from wechat_simulator.config import SimulatorSettings


@dataclass(frozen=True)
class PayKeys:
    """Everything needed to verify merchant requests and sign platform answers."""

    platform_key: RSAPrivateKey
    platform_serial: str
    merchant_keys: dict[str, RSAPublicKey]
    apiv3_key: str
    # PEM platform certificates served by GET /v3/certificates, oldest first.
    platform_certificates: tuple[bytes, ...] = ()


class PayKeysMissing(RuntimeError):
    """The simulator was started without the development pay keys."""


def load_pay_keys(settings: SimulatorSettings) -> PayKeys:
    """Load the pay keys named by the settings (``make run`` generates them)."""
    if settings.platform_key_file is None or settings.mch_cert_file is None or settings.pay_apiv3_key is None:
        raise PayKeysMissing(
            "WeChat Pay is not configured: set WECHAT_SIM_PLATFORM_KEY_FILE, WECHAT_SIM_MCH_CERT_FILE and "
            "QUNYUN_PAY_APIV3_KEY (qunyun_local.devkeys.ensure_dev_pay_keys generates them)"
        )
    serial: str | None = None
    if settings.pay_serial_mode == "public_key" and settings.pay_platform_key_id:
        serial = settings.pay_platform_key_id
    elif settings.pay_platform_cert_file is not None:
        serial = certificate_serial(settings.pay_platform_cert_file)
    elif settings.pay_platform_key_id:
        serial = settings.pay_platform_key_id
    if serial is None:
        raise PayKeysMissing("set QUNYUN_PAY_PLATFORM_KEY_ID or QUNYUN_PAY_PLATFORM_CERT_FILE")
    cert_file = settings.pay_platform_cert_file
    certificates = (cert_file.read_bytes(),) if cert_file is not None and cert_file.exists() else ()
    return PayKeys(
        platform_key=load_private_key(settings.platform_key_file),
        platform_serial=serial,
        merchant_keys={
            certificate_serial(settings.mch_cert_file): load_public_key_or_cert(settings.mch_cert_file)
        },
        apiv3_key=settings.pay_apiv3_key.get_secret_value(),
        platform_certificates=certificates,
    )


def new_platform_certificate(key: RSAPrivateKey, *, days: int = 5 * 365) -> bytes:
    """A self-signed platform certificate for ``key`` (PEM), with a 40-hex-digit serial like WeChat's."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Qunyun development"),
            x509.NameAttribute(NameOID.COMMON_NAME, "WeChat Pay platform (simulated, rotated)"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(156) | (1 << 156))
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def rotated(keys: PayKeys, *, keep_old: bool = True) -> PayKeys:
    """``keys`` with a new platform key and certificate that signs from now on."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = new_platform_certificate(key)
    kept = keys.platform_certificates if keep_old else ()
    return dataclasses.replace(
        keys,
        platform_key=key,
        platform_serial=certificate_serial(pem),
        platform_certificates=(*kept, pem),
    )
