"""Development WeChat Pay keys, generated once under ``<data_dir>/pay/`` and shared with the simulator.

Both sides of every pay signature read these files: the services sign with the
merchant key and verify with the platform certificate / public key; the
simulator verifies with the merchant certificate and signs with the platform key.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import string
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.settings import DEV_PAY_MCHID

MCH_KEY = "apiclient_key.pem"
MCH_CERT = "apiclient_cert.pem"
PLATFORM_KEY = "platform_key.pem"
PLATFORM_CERT = "platform_cert.pem"
PLATFORM_PUBLIC_KEY = "platform_public_key.pem"
PLATFORM_KEY_ID = "platform_key_id.txt"
APIV3_KEY = "apiv3_key.txt"
_ALPHABET = string.ascii_letters + string.digits


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with mode 600, so a crash never leaves half a key."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _private_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} is not an RSA key")
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(path, pem)
    return key


def _certificate(path: Path, key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    if path.exists():
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        public = cert.public_key()
        if (
            isinstance(public, rsa.RSAPublicKey)
            and public.public_numbers() == key.public_key().public_numbers()
        ):
            return cert
    # Serials of real WeChat Pay certificates are 40 hex digits; force the top bit for that length.
    serial = secrets.randbits(156) | (1 << 156)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Qunyun development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    _write_private(path, cert.public_bytes(serialization.Encoding.PEM))
    return cert


def _public_key_file(path: Path, key: rsa.RSAPrivateKey) -> None:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not path.exists() or path.read_bytes() != pem:
        _write_private(path, pem)


def _text(path: Path, make: str) -> str:
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    _write_private(path, (make + "\n").encode())
    return make


def ensure_dev_pay_keys(data_dir: Path) -> dict[str, str]:
    """Create (first call) or reuse the development pay keys; return their environment variables."""
    pay_dir = Path(data_dir).expanduser().resolve() / "pay"
    pay_dir.mkdir(parents=True, exist_ok=True)
    pay_dir.chmod(0o700)

    mch_key = _private_key(pay_dir / MCH_KEY)
    mch_cert = _certificate(pay_dir / MCH_CERT, mch_key, f"{DEV_PAY_MCHID} merchant")
    platform_key = _private_key(pay_dir / PLATFORM_KEY)
    _certificate(pay_dir / PLATFORM_CERT, platform_key, "WeChat Pay platform (simulated)")
    _public_key_file(pay_dir / PLATFORM_PUBLIC_KEY, platform_key)
    key_id = _text(
        pay_dir / PLATFORM_KEY_ID,
        "PUB_KEY_ID_01" + DEV_PAY_MCHID + "".join(secrets.choice(string.digits) for _ in range(22)),
    )
    apiv3_key = _text(pay_dir / APIV3_KEY, "".join(secrets.choice(_ALPHABET) for _ in range(32)))

    return {
        "QUNYUN_PAY_MCHID": DEV_PAY_MCHID,
        "QUNYUN_PAY_APIV3_KEY": apiv3_key,
        "QUNYUN_PAY_MCH_SERIAL": format(mch_cert.serial_number, "X"),
        "QUNYUN_PAY_MCH_KEY_FILE": str(pay_dir / MCH_KEY),
        "QUNYUN_PAY_PLATFORM_CERT_FILE": str(pay_dir / PLATFORM_CERT),
        "QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE": str(pay_dir / PLATFORM_PUBLIC_KEY),
        "QUNYUN_PAY_PLATFORM_KEY_ID": key_id,
        "WECHAT_SIM_PLATFORM_KEY_FILE": str(pay_dir / PLATFORM_KEY),
        "WECHAT_SIM_MCH_CERT_FILE": str(pay_dir / MCH_CERT),
    }
