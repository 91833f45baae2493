"""A disabled account or a changed role stops old tokens at the gateway at once.

The gateway verifies tokens itself, so identity publishes
identity.access.revoked and every gateway refuses tokens issued before it.
"""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _login(gateway: str, username: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{gateway}/admin/v1/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


def _until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_role_change_and_disable_revoke_existing_tokens(system):
    gateway = system.gateway
    admin = _login(gateway, system.admin_username, system.admin_password)
    created = httpx.post(f"{gateway}/admin/v1/staff", headers=admin,
                         json={"username": "ops1", "password": "correct horse 1", "role": "operator"})
    assert created.status_code == 201, created.text
    staff_id = created.json()["id"]
    ops = _login(gateway, "ops1", "correct horse 1")
    overview = f"{gateway}/admin/v1/metrics/overview"
    assert httpx.get(overview, headers=ops).status_code == 200

    changed = httpx.put(f"{gateway}/admin/v1/staff/{staff_id}/role", headers=admin, json={"role": "viewer"})
    assert changed.status_code == 200, changed.text
    _until(lambda: httpx.get(overview, headers=ops).status_code == 401)
    refused = httpx.get(overview, headers=ops)
    assert refused.json()["type"].endswith("/access-revoked")
    # Signing in again gives a token with the new role, which works at once.
    ops = _login(gateway, "ops1", "correct horse 1")
    assert httpx.get(overview, headers=ops).status_code == 200

    assert httpx.post(f"{gateway}/admin/v1/staff/{staff_id}/disable", headers=admin).status_code == 200
    _until(lambda: httpx.get(overview, headers=ops).status_code == 401)
    relogin = httpx.post(f"{gateway}/admin/v1/session", json={"username": "ops1", "password": "correct horse 1"})
    assert relogin.status_code in (401, 403)
    # Other accounts are untouched.
    assert httpx.get(overview, headers=admin).status_code == 200
