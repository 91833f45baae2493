"""A WeChat Pay platform certificate rotation needs no restart, at the gateway as in campaign.

After the simulator rotates its platform certificate (and stops listing the
old one), pay notifications arrive signed with a serial nobody has seen. The
gateway learns it from campaign, which downloads the certificates, and the
payment confirms the registration as before.

The gateway also downloads the certificates on an interval (through campaign),
so a certificate WeChat Pay lists is known before the first notification signed
with it: such a notification verifies even while campaign is down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.testing.infra import Infra
from shared.testing.system import System, own_system

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


# The gateway's scheduled platform-key refresh, short here (an hour by default).
REFRESH_SECONDS = 1


@pytest.fixture(scope="module")
def rotating(infra: Infra) -> Iterator[System]:
    """A system of its own: the rotation must not reach the other end-to-end tests."""
    with own_system(infra, {"GATEWAY_PAY_PLATFORM_KEYS_REFRESH_SECONDS": str(REFRESH_SECONDS)}) as running:
        yield running


def _paid_period_and_member(http: httpx.Client, system: System, title: str) -> tuple[dict, dict, dict, dict]:
    """Staff headers, an open paid period, a simulated person and their member headers."""
    staff = http.post("/admin/v1/session",
                      json={"username": system.admin_username, "password": system.admin_password}).json()
    admin = {"authorization": f"Bearer {staff['token']}"}
    series = http.post("/admin/v1/series", headers=admin, json={"title": title}).json()
    opens = datetime.now(UTC) - timedelta(hours=1)
    start = (opens + timedelta(days=3)).date()
    period = http.post(f"/admin/v1/series/{series['id']}/periods", headers=admin, json={
        "title": "第1期", "registration_opens_at": opens.isoformat(),
        "registration_closes_at": (opens + timedelta(days=2)).isoformat(),
        "start_date": start.isoformat(), "end_date": (start + timedelta(days=6)).isoformat(),
        "capacity": 10, "fee_fen": 990,
    }).json()
    assert http.post(f"/admin/v1/periods/{period['id']}/state", headers=admin,
                     json={"state": "open"}).status_code == 200
    person = httpx.post(f"{system.simulator}/sim/people", json={}).json()
    code = httpx.post(f"{system.simulator}/sim/people/{person['person_id']}/login-code").json()["code"]
    member = {"authorization": f"Bearer {http.post('/mp/v1/session', json={'code': code}).json()['token']}"}
    return admin, period, person, member


def test_a_notification_signed_by_a_rotated_certificate_confirms_the_payment(rotating: System) -> None:
    system = rotating
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        _, period, person, member = _paid_period_and_member(http, system, "证书轮换")
        registration = http.post(f"/mp/v1/periods/{period['id']}/registrations", json={}, headers=member).json()
        assert registration["state"] == "awaiting_payment", registration

        rotated = httpx.post(f"{system.simulator}/sim/pay/platform-certificates/rotate",
                             json={"keep_old": False}).json()
        assert rotated["serial"] != rotated["previous_serial"]
        paid = httpx.post(f"{system.simulator}/sim/people/{person['person_id']}/pay",
                          json={"out_trade_no": registration["order"]["out_trade_no"]}, timeout=30).json()
        assert paid["status"] in (200, 204), paid  # the gateway verified it with the learned certificate

        deadline = time.monotonic() + 30
        while True:
            mine = http.get("/mp/v1/me/registrations", headers=member).json()
            if mine[0]["registration"]["state"] == "confirmed" or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert mine[0]["registration"]["state"] == "confirmed", mine

        # A serial nobody issued is still refused (and does not make the gateway ask again at once).
        forged = http.post("/wechat/pay/notify", content=b"{}", headers={
            "Wechatpay-Serial": "FFFF0000", "Wechatpay-Signature": "AAAA", "Wechatpay-Timestamp": str(int(time.time())),
            "Wechatpay-Nonce": "n", "content-type": "application/json",
        })
        assert forged.status_code == 401, forged.text


def test_the_gateway_knows_a_listed_certificate_before_a_notification_signed_with_it(rotating: System) -> None:
    system = rotating
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        _, period, person, member = _paid_period_and_member(http, system, "证书定时下载")
        registration = http.post(f"/mp/v1/periods/{period['id']}/registrations", json={}, headers=member).json()
        assert registration["state"] == "awaiting_payment", registration

        # WeChat Pay lists a new certificate (the old one stays listed) and signs with it from now on.
        rotated = httpx.post(f"{system.simulator}/sim/pay/platform-certificates/rotate",
                             json={"keep_old": True}).json()
        new_serial = rotated["serial"]
        # The scheduled refresh brings it to the gateway without any notification asking for it.
        log = system.logs / "gateway.log"
        deadline = time.monotonic() + 30
        while not _refreshed_with(log, new_serial):
            assert time.monotonic() < deadline, f"the gateway never refreshed {new_serial}; see {log}"
            time.sleep(0.2)

        # Campaign is down: the gateway cannot ask it, so only a key it already has verifies the notification.
        system.kill("campaign")
        try:
            paid = httpx.post(f"{system.simulator}/sim/people/{person['person_id']}/pay",
                              json={"out_trade_no": registration["order"]["out_trade_no"]}, timeout=30).json()
            assert paid["status"] in (200, 204), paid
        finally:
            system.start("campaign")
            system.wait_healthy("campaign")

        # The payment went through the gateway's outbox; campaign confirms it once back.
        deadline = time.monotonic() + 60
        while True:
            mine = http.get("/mp/v1/me/registrations", headers=member).json()
            if (isinstance(mine, list) and mine and mine[0]["registration"]["state"] == "confirmed") \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert mine[0]["registration"]["state"] == "confirmed", mine


def _refreshed_with(log, serial: str) -> bool:
    """Whether the gateway logged a scheduled refresh that added ``serial``."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return False
    return any("pay_platform_keys_refreshed" in line and serial in line for line in lines)
