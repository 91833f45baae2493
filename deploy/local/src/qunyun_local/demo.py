"""``make demo``: walk a running system through a small campaign, as an operator would.

Against ``make run`` (or any gateway and simulator): staff sign in, create
a series and a free period and open it; a few simulated people log in to the
mini-program, follow the service account from a channel QR code (a real
signed push through the gateway) and register. Everything goes through the
public gateway; the simulator only plays the people and WeChat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx


@dataclass
class DemoResult:
    """What the walk-through produced, for printing and for tests."""

    series_id: int
    period_id: int
    members: list[dict[str, Any]] = field(default_factory=list)
    places_left: int | None = None


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url.path} → "
                           f"{response.status_code}: {response.text}")
    return response.json() if response.content else None


def run_demo(gateway: str, simulator: str, admin_username: str, admin_password: str, *, people: int = 3,
             say: Any = print) -> DemoResult:
    """Run the walk-through; raises if any step fails."""
    with httpx.Client(base_url=gateway, timeout=20) as api, httpx.Client(base_url=simulator, timeout=20) as sim:
        staff = _ok(api.post("/admin/v1/session", json={"username": admin_username, "password": admin_password}))
        staff_headers = {"authorization": f"Bearer {staff['token']}"}
        say(f"staff {admin_username} signed in")
        series = _ok(api.post("/admin/v1/series", json={"title": "30 天单词打卡"}, headers=staff_headers))
        now = datetime.now(UTC)
        period = _ok(api.post(f"/admin/v1/series/{series['id']}/periods", headers=staff_headers, json={
            "title": "第 1 期", "registration_opens_at": (now - timedelta(minutes=5)).isoformat(),
            "registration_closes_at": (now + timedelta(days=3)).isoformat(),
            "start_date": (date.today() + timedelta(days=4)).isoformat(),
            "end_date": (date.today() + timedelta(days=33)).isoformat(), "capacity": 100, "fee_fen": 0,
        }))
        _ok(api.post(f"/admin/v1/periods/{period['id']}/state", json={"state": "open"}, headers=staff_headers))
        say(f"series {series['id']} period {period['id']} open for registration")
        result = DemoResult(series_id=series["id"], period_id=period["id"])
        for n in range(people):
            person = _ok(sim.post("/sim/people", json={"with_unionid": True, "nickname": f"demo{n}"}))
            code = _ok(sim.post(f"/sim/people/{person['person_id']}/login-code"))["code"]
            session = _ok(api.post("/mp/v1/session", json={"code": code}))
            member_headers = {"authorization": f"Bearer {session['token']}"}
            pushed = _ok(sim.post(f"/sim/people/{person['person_id']}/follow", json={"scene": "demo-poster"}))
            registration = _ok(api.post(f"/mp/v1/periods/{period['id']}/registrations", json={},
                                        headers={**member_headers, "idempotency-key": f"demo-{n}-{time.time()}"}))
            me = _wait_following(api, member_headers)
            result.members.append({"member_no": session["member_no"], "follows": me["follows_service_account"],
                                   "registration": registration["state"],
                                   "push_answer": pushed.get("body")})
            say(f"member {session['member_no']:05d} logged in, followed (push answered "
                f"{pushed.get('body')!r}), registered")
        detail = _ok(api.get(f"/mp/v1/periods/{period['id']}", headers=member_headers))
        result.places_left = detail["remaining"]
        say(f"period {period['id']}: {result.places_left} places left")
        return result


def _wait_following(api: httpx.Client, headers: dict[str, str], timeout: float = 15) -> dict[str, Any]:
    """The follow travels gateway → Kafka → identity: wait for it to show on /me."""
    deadline = time.monotonic() + timeout
    while True:
        me = _ok(api.get("/mp/v1/me", headers=headers))
        if me["follows_service_account"] or time.monotonic() > deadline:
            return me  # type: ignore[no-any-return]
        time.sleep(0.2)
