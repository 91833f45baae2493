"""WeChat Pay answers: every one signed by the platform, certificates downloadable, rotation, forged answers."""

from __future__ import annotations

import json

import pytest

from shared.wechat import pay
from shared.wechat.errors import WeChatCryptoError

from .test_pay import ORDER_PATH, _order, _paid_order


def _keyring(h) -> pay.PlatformKeyring:
    return pay.platform_keyring(
        h.settings.pay_platform_cert_file, h.settings.pay_platform_public_key_file, h.settings.pay_platform_key_id
    )


async def test_every_answer_is_signed_by_the_platform(h) -> None:
    keys = _keyring(h)
    person = await h.person()
    answers = [await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240601000001"))]
    mchid = h.env["QUNYUN_PAY_MCHID"]
    answers.append(await h.pay_call("GET", f"/v3/pay/transactions/out-trade-no/R20240601000001?mchid={mchid}"))
    close = "/v3/pay/transactions/out-trade-no/R20240601000001/close"
    answers.append(await h.pay_call("POST", close, {"mchid": mchid}))
    answers.append(await h.pay_call("GET", f"/v3/pay/transactions/out-trade-no/R20249999999999?mchid={mchid}"))
    await _paid_order(h, "R20240601000002", total=1000)
    refund = {"out_trade_no": "R20240601000002", "out_refund_no": "RF20240601000002",
              "amount": {"refund": 1000, "total": 1000, "currency": "CNY"}}
    answers.append(await h.pay_call("POST", "/v3/refund/domestic/refunds", refund))
    answers.append(await h.pay_call("GET", "/v3/refund/domestic/refunds/RF20240601000002"))
    assert [a.status_code for a in answers] == [200, 200, 204, 404, 200, 200]
    for answer in answers:
        pay.verify_notification(answer.headers, answer.content, keys)


async def test_certificates_download_decrypts_with_the_apiv3_key(h) -> None:
    answer = await h.pay_call("GET", pay.CERTIFICATES_PATH)
    assert answer.status_code == 200
    (entry,) = answer.json()["data"]
    serial = pay.certificate_serial(h.settings.pay_platform_cert_file)
    assert entry["serial_no"] == serial and entry["encrypt_certificate"]["algorithm"] == "AEAD_AES_256_GCM"
    assert "BEGIN CERTIFICATE" not in answer.text  # encrypted, not in the clear
    certificates = pay.verify_certificates_answer(
        answer.headers, answer.content, h.env["QUNYUN_PAY_APIV3_KEY"], _keyring(h)
    )
    assert list(certificates) == [serial]
    with pytest.raises(WeChatCryptoError):
        pay.read_certificates("x" * 32, answer.json())  # another APIv3 key does not decrypt them
    unsigned = await h.client.get(pay.CERTIFICATES_PATH)
    assert unsigned.status_code == 401


async def test_rotation_signs_with_a_new_certificate_that_the_download_lists(h) -> None:
    keys = _keyring(h)
    old_serial = pay.certificate_serial(h.settings.pay_platform_cert_file)
    rotation = await h.sim("/sim/pay/platform-certificates/rotate", {"keep_old": True})
    assert rotation["serial"] not in (old_serial, h.settings.pay_platform_key_id)
    assert rotation["listed"] == 2
    person = await h.person()
    answer = await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240601000010"))
    assert answer.headers["Wechatpay-Serial"] == rotation["serial"]
    with pytest.raises(pay.UnknownPlatformSerial) as unknown:
        pay.verify_notification(answer.headers, answer.content, keys)
    assert unknown.value.serial == rotation["serial"]

    download = await h.pay_call("GET", pay.CERTIFICATES_PATH)
    certificates = pay.verify_certificates_answer(
        download.headers, download.content, h.env["QUNYUN_PAY_APIV3_KEY"], keys
    )
    assert set(certificates) == {old_serial, rotation["serial"]}
    assert keys.replace_certificates(certificates) == [rotation["serial"]]
    pay.verify_notification(answer.headers, answer.content, keys)
    # Notifications are signed with the new key as well: a receiver that only knows the old one refuses them.
    person = await h.person()
    await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240601000011"))
    h.gateway.platform_keys.update(certificates)
    paid = await h.sim(f"/sim/people/{person['person_id']}/pay", {"out_trade_no": "R20240601000011"})
    assert paid["status"] == 200
    h.gateway.platform_keys.pop(rotation["serial"])
    person = await h.person()
    await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240601000012"))
    refused = await h.sim(f"/sim/people/{person['person_id']}/pay", {"out_trade_no": "R20240601000012"})
    assert refused["status"] != 200
    await h.state.drain()  # let the retries of the refused notification run out

    await h.sim("/sim/reset")
    again = await h.pay_call("GET", pay.CERTIFICATES_PATH)
    assert [e["serial_no"] for e in again.json()["data"]] == [old_serial]


async def test_faults_forge_or_unsign_an_answer(h) -> None:
    keys = _keyring(h)
    person = await h.person()
    await h.pay_call("POST", ORDER_PATH, _order(h, person, "R20240601000020"))
    path = "/v3/pay/transactions/out-trade-no/R20240601000020"
    query = f"{path}?mchid={h.env['QUNYUN_PAY_MCHID']}"
    await h.sim("/sim/faults", {"path": path, "answer": "forged", "answer_patch": {"trade_state": "SUCCESS"}})
    forged = await h.pay_call("GET", query)
    assert forged.json()["trade_state"] == "SUCCESS" and forged.json()["out_trade_no"] == "R20240601000020"
    with pytest.raises(WeChatCryptoError, match="bad platform signature"):
        pay.verify_notification(forged.headers, forged.content, keys)

    await h.sim("/sim/faults", {"path": path, "answer": "unsigned"})
    unsigned = await h.pay_call("GET", query)
    assert "Wechatpay-Signature" not in unsigned.headers
    with pytest.raises(WeChatCryptoError, match="missing header"):
        pay.verify_notification(unsigned.headers, unsigned.content, keys)

    await h.sim("/sim/faults", {"path": path, "answer": "forged"})
    resigned = await h.pay_call("GET", query)
    assert json.loads(resigned.content)["trade_state"] == "NOTPAY"
    with pytest.raises(WeChatCryptoError):
        pay.verify_notification(resigned.headers, resigned.content, keys)

    genuine = await h.pay_call("GET", query)  # the faults are used up
    pay.verify_notification(genuine.headers, genuine.content, keys)
