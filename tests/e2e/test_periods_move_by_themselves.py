"""Periods move by themselves: open → running → closed → settled by the scheduler, with two campaign replicas.

Time is moved for every process at once (``System.set_clock``, the shared
test clock); both replicas run the scheduler, and each move happens once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.testing.infra import Infra
from shared.testing.system import System, own_system

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def two_replicas(infra: Infra) -> Iterator[System]:
    """A system whose campaign service runs as two processes, each with its scheduler."""
    with own_system(infra, {"CAMPAIGN_WORKERS": "2", "CAMPAIGN_SCHEDULER_INTERVAL_SECONDS": "0.3"}) as running:
        yield running


def _wait_for_state(http: httpx.Client, period_id: int, state: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        period = http.get(f"/admin/v1/periods/{period_id}").json()
        if period["state"] == state or time.monotonic() > deadline:
            assert period["state"] == state, period
            return period
        time.sleep(0.2)


def test_a_period_moves_from_open_to_settled_with_no_staff_action(two_replicas: System) -> None:
    system = two_replicas
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        token = http.post("/admin/v1/session",
                          json={"username": system.admin_username, "password": system.admin_password}).json()
        http.headers["authorization"] = f"Bearer {token['token']}"
        start = (datetime.now(SHANGHAI) + timedelta(days=2)).date()
        series = http.post("/admin/v1/series", json={"title": "自动流转"}).json()
        created = http.post(f"/admin/v1/series/{series['id']}/periods", json={
            "title": "第1期", "registration_opens_at": datetime.now(UTC).isoformat(),
            "registration_closes_at": datetime.combine(start, datetime.min.time(), SHANGHAI).isoformat(),
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat(),
            "capacity": 10, "checkin_plan": {"deadline": "22:00:00", "grace_minutes": 30},
        })
        assert created.status_code == 201, created.text
        period_id = created.json()["id"]
        assert http.post(f"/admin/v1/periods/{period_id}/state", json={"state": "open"}).status_code == 200

        # Nothing moves before the first day begins.
        system.set_clock(datetime.combine(start, datetime.min.time(), SHANGHAI) - timedelta(minutes=5))
        time.sleep(1.5)
        assert http.get(f"/admin/v1/periods/{period_id}").json()["state"] == "open"

        system.set_clock(datetime.combine(start, datetime.min.time(), SHANGHAI) + timedelta(minutes=1))
        _wait_for_state(http, period_id, "running")
        # After the last check-in window (22:00 + 30 min of the last day) it closes and, nothing being due, settles.
        last = datetime.combine(start + timedelta(days=2), datetime.min.time(), SHANGHAI)
        system.set_clock(last + timedelta(hours=22, minutes=31))
        settled = _wait_for_state(http, period_id, "settled")
        assert settled["closed_at"] and settled["settled_at"]
        time.sleep(1.5)  # both schedulers keep ticking: nothing moves twice

        history = http.get(f"/admin/v1/periods/{period_id}/history").json()
        assert [(h["from_state"], h["to_state"], h["by_kind"]) for h in history] == [
            ("draft", "open", "staff"),
            ("open", "running", "scheduler"),
            ("running", "closed", "scheduler"),
            ("closed", "settled", "settlement"),
        ]
        assert history[0]["by_id"] is not None and history[1]["by_id"] is None
    system.set_clock(None)
