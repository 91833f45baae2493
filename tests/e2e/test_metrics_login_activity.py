"""A member who only logs in is active that day: identity's ``identity.member.logged_in`` into metrics' DAU.

A person signs in through the gateway on a day nobody else uses (the shared
test clock moved far ahead), three times; identity emits one
``identity.member.logged_in`` for that Asia/Shanghai day and metrics counts
the member active on it (DAU 1), but not active in the mini-program (no
telemetry: the dwell figure has no member-days).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.testing.modules import load_test_module
from shared.testing.system import System
from shared.testing.waiting import eventually

pytestmark = [pytest.mark.e2e]


story_module = load_test_module(Path(__file__).with_name("test_seed_002_story.py"), "qunyun_e2e_seed_002_story")
SHANGHAI = story_module.SHANGHAI


async def test_a_member_who_only_logs_in_is_active_that_day(system: System) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        story = story_module.Story(system, client)
        await story.staff_login()
        # A day of its own, far from the days the other tests move the clock to.
        day = datetime.now(SHANGHAI).date() + timedelta(days=random.randint(200, 300))
        moment = datetime.combine(day, time(10, 0), SHANGHAI)
        person = await story.person()
        await story.login(person)  # a new member, today
        try:
            await story.set_clock(moment)
            for _ in range(3):
                await story.login(person)
        finally:
            await story.set_clock(None)

        async def overview() -> dict[str, Any]:
            figure = await story.ok(
                client.get(
                    story.gw("/admin/v1/metrics/overview"), params={"from": day.isoformat(), "to": day.isoformat()},
                    headers=story.staff,
                )
            )
            return {m["name"]: m["total"] for m in figure["metrics"]}

        totals = await eventually(overview, lambda t: t["dau"] == 1, timeout=90, interval=1)
        assert totals["dau"] == 1 and totals["new_members"] == 0, totals
        dwell = await story.ok(
            client.get(
                story.gw("/admin/v1/metrics/dwell"), params={"from": day.isoformat(), "to": day.isoformat()},
                headers=story.staff,
            )
        )
        assert [p["member_days"] for p in dwell["series"]] == [0]
        assert datetime.now(UTC) < moment  # the clock is back (and the day still lies ahead)
