"""The identity paths through the real gateway, with every process of the system running."""

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_staff_sign_in_and_member_lookup_through_the_gateway(system):
    gateway = system.gateway
    login = httpx.post(
        f"{gateway}/admin/v1/session",
        json={"username": system.admin_username, "password": system.admin_password},
    )
    assert login.status_code == 200, login.text
    staff = {"authorization": f"Bearer {login.json()['token']}"}
    assert httpx.get(f"{gateway}/admin/v1/staff/me", headers=staff).json()["role"] == "admin"
    assert httpx.get(f"{gateway}/admin/v1/members", headers=staff).status_code == 200
    wrong = httpx.post(f"{gateway}/admin/v1/session", json={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith("application/problem+json")
    # Internal paths are not reachable through the gateway.
    assert httpx.get(f"{gateway}/internal/members/10001").status_code == 404


def test_mini_program_sign_in_through_the_gateway(system):
    if "simulator" not in system.processes:
        pytest.skip("the WeChat simulator is not installed")
    sim, gateway = system.simulator, system.gateway
    person = httpx.post(f"{sim}/sim/people", json={"with_unionid": True}).json()
    code = httpx.post(f"{sim}/sim/people/{person['person_id']}/login-code").json()["code"]
    session = httpx.post(f"{gateway}/mp/v1/session", json={"code": code})
    assert session.status_code == 200, session.text
    member = {"authorization": f"Bearer {session.json()['token']}"}
    me = httpx.get(f"{gateway}/mp/v1/me", headers=member)
    assert me.status_code == 200 and me.json()["member_no"] == session.json()["member_no"]

    refreshed = httpx.post(
        f"{gateway}/mp/v1/session/refresh", json={"refresh_token": session.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    reused = httpx.post(
        f"{gateway}/mp/v1/session/refresh", json={"refresh_token": session.json()["refresh_token"]}
    )
    assert reused.status_code == 401

    used = httpx.post(f"{gateway}/mp/v1/session", json={"code": code})
    assert used.status_code == 401
    assert used.json()["detail"] == "登录凭证无效或已使用，请重新登录。"
