"""Every service exports its published events (its event log) to internal callers, in publication order."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.auth import TokenCodec
from shared.settings import QunyunSettings

pytestmark = pytest.mark.e2e


def test_the_event_log_pages_published_events_behind_an_internal_token(system):
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        staff = http.post("/admin/v1/session",
                          json={"username": system.admin_username, "password": system.admin_password}).json()
        admin = {"authorization": f"Bearer {staff['token']}"}
        series = http.post("/admin/v1/series", headers=admin, json={"title": "事件日志"}).json()
        opens = datetime.now(UTC) - timedelta(hours=1)
        start = (opens + timedelta(days=3)).date()
        period = http.post(f"/admin/v1/series/{series['id']}/periods", headers=admin, json={
            "title": "第1期", "registration_opens_at": opens.isoformat(),
            "registration_closes_at": (opens + timedelta(days=2)).isoformat(),
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=6)).isoformat(), "capacity": 10,
        }).json()
        assert http.post(f"/admin/v1/periods/{period['id']}/state", headers=admin,
                         json={"state": "open"}).status_code == 200

    campaign = system.urls["campaign"]
    assert httpx.get(f"{campaign}/internal/events").status_code == 401
    codec = TokenCodec(QunyunSettings(secret_key=system.env["QUNYUN_SECRET_KEY"]))
    internal = {"authorization": f"Bearer {codec.issue_internal(caller='metrics', audience='campaign')}"}
    deadline = time.monotonic() + 30
    while True:  # the relay publishes within moments
        events, after = [], 0
        while after is not None:
            page = httpx.get(f"{campaign}/internal/events", params={"after": after, "limit": 2}, headers=internal)
            assert page.status_code == 200, page.text
            events += page.json()["items"]
            after = page.json()["next_after"]
        opened = [e for e in events if e["envelope"]["type"] == "campaign.period.opened"
                  and e["envelope"]["data"]["period_id"] == period["id"]]
        if opened or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(opened) == 1 and opened[0]["topic"].endswith("campaign.events")
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    for service in ("identity", "tagging", "messaging", "metrics", "gateway"):
        assert httpx.get(f"{system.urls[service]}/internal/events").status_code == 401, service
