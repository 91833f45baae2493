"""The keys the simulated WeChat Pay uses: platform private key, merchant certificate, APIv3 key."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from shared.wechat.pay import certificate_serial, load_private_key, load_public_key_or_cert
from wechat_simulator.config import SimulatorSettings


@dataclass(frozen=True)
class PayKeys:
    """Everything needed to verify merchant requests and sign platform answers."""

    platform_key: RSAPrivateKey
    platform_serial: str
    merchant_keys: dict[str, RSAPublicKey]
    apiv3_key: str


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
    return PayKeys(
        platform_key=load_private_key(settings.platform_key_file),
        platform_serial=serial,
        merchant_keys={
            certificate_serial(settings.mch_cert_file): load_public_key_or_cert(settings.mch_cert_file)
        },
        apiv3_key=settings.pay_apiv3_key.get_secret_value(),
    )
