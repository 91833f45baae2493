"""The development pay keys the launcher generates and the simulator shares."""

from __future__ import annotations

import stat
from pathlib import Path

from qunyun_local.devkeys import ensure_dev_pay_keys
from shared.settings import DEV_PAY_MCHID
from shared.wechat import pay


def test_keys_are_generated_once_and_fit_together(tmp_path: Path) -> None:
    env = ensure_dev_pay_keys(tmp_path)
    assert ensure_dev_pay_keys(tmp_path) == env  # reused, not regenerated
    assert env["QUNYUN_PAY_MCHID"] == DEV_PAY_MCHID
    assert len(env["QUNYUN_PAY_APIV3_KEY"]) == 32
    assert env["QUNYUN_PAY_PLATFORM_KEY_ID"].startswith("PUB_KEY_ID_")
    assert env["QUNYUN_PAY_MCH_SERIAL"] == pay.certificate_serial(env["WECHAT_SIM_MCH_CERT_FILE"])
    assert len(env["QUNYUN_PAY_MCH_SERIAL"]) == 40
    for name in (
        "QUNYUN_PAY_MCH_KEY_FILE",
        "QUNYUN_PAY_PLATFORM_CERT_FILE",
        "QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE",
        "WECHAT_SIM_PLATFORM_KEY_FILE",
        "WECHAT_SIM_MCH_CERT_FILE",
    ):
        assert stat.S_IMODE(Path(env[name]).stat().st_mode) == 0o600

    # Merchant key ↔ merchant certificate; platform key ↔ platform certificate and public key.
    message = b"GET\n/v3/x\n1\nn\n\n"
    signature = pay.rsa_sign(pay.load_private_key(env["QUNYUN_PAY_MCH_KEY_FILE"]), message)
    assert pay.rsa_verify(pay.load_public_key_or_cert(env["WECHAT_SIM_MCH_CERT_FILE"]), message, signature)
    keys = pay.platform_public_keys(
        env["QUNYUN_PAY_PLATFORM_CERT_FILE"],
        env["QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE"],
        env["QUNYUN_PAY_PLATFORM_KEY_ID"],
    )
    headers = pay.sign_notification(b"{}", pay.load_private_key(env["WECHAT_SIM_PLATFORM_KEY_FILE"]), "x")
    for serial, key in keys.items():
        pay.verify_notification({**headers, "Wechatpay-Serial": serial}, b"{}", {serial: key})


def test_a_lost_certificate_is_rebuilt_from_the_kept_key(tmp_path: Path) -> None:
    env = ensure_dev_pay_keys(tmp_path)
    Path(env["WECHAT_SIM_MCH_CERT_FILE"]).unlink()
    again = ensure_dev_pay_keys(tmp_path)
    assert again["QUNYUN_PAY_MCH_SERIAL"] != env["QUNYUN_PAY_MCH_SERIAL"]
    assert (
        Path(again["QUNYUN_PAY_MCH_KEY_FILE"]).read_bytes()
        == Path(env["QUNYUN_PAY_MCH_KEY_FILE"]).read_bytes()
    )
    message = b"m\n"
    signature = pay.rsa_sign(pay.load_private_key(again["QUNYUN_PAY_MCH_KEY_FILE"]), message)
    assert pay.rsa_verify(pay.load_public_key_or_cert(again["WECHAT_SIM_MCH_CERT_FILE"]), message, signature)
