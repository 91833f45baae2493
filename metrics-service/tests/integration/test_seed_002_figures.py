"""Seed 002's worked numbers through the broker into the projections and out of every figure.

Then every event once more (nothing changes), then a rebuild from the broker
(the same answers).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from scenario import CHANNEL, SERIES, X1, X2, expected_renewal, seed_002
from sqlalchemy import insert

from metrics_service.rebuild import rebuild
from shared.auth import TokenCodec
from shared.events.export import router as export_router
from shared.events.outbox import OUTBOX_TABLE

pytestmark = pytest.mark.slow


async def figures(m: Any, s: Any) -> dict[str, Any]:
    """Every figure over the scenario's range."""
    assert s.x2_open is not None
    first = (s.start - timedelta(days=2)).date().isoformat()
    last = (s.x2_open + timedelta(days=1)).date().isoformat()
    window = {"from": first, "to": last}
    return {
        "overview": await m.get("/admin/v1/metrics/overview", **window, granularity="week"),
        "lifecycle": await m.get("/admin/v1/metrics/lifecycle", **window, granularity="week"),
        "retention": await m.get("/admin/v1/metrics/retention", **window, granularity="week", intervals=6),
        "dwell": await m.get("/admin/v1/metrics/dwell", **window),
        "heatmap": await m.get("/admin/v1/metrics/heatmap", **window),
        "channels": await m.get("/admin/v1/metrics/channels", **window),
        "communities": await m.get("/admin/v1/metrics/communities", **window, active_days=30),
        "period": await m.get(f"/admin/v1/metrics/periods/{X1}"),
        "renewal": await m.get(f"/admin/v1/metrics/series/{SERIES}/renewal"),
        **{
            f"cohorts_{view}": await m.get(f"/admin/v1/metrics/series/{SERIES}/cohorts", view=view)
            for view in ("origin", "source", "destination")
        },
    }


async def test_seed_002_numbers_redelivery_and_rebuild(metrics_factory):
    s = seed_002()
    async with metrics_factory() as m:
        await m.publish(s.events)
        await m.drained()
        seen = await figures(m, s)

        (step,) = seen["renewal"]["steps"]
        assert (step["from_period_id"], step["to_period_id"]) == (X1, X2)
        assert {k: step[k] for k in expected_renewal()} == expected_renewal()

        origin = {p["period_id"]: p for p in seen["cohorts_origin"]["periods"]}
        assert {x["key"]: x["members"] for x in origin[X2]["parts"]} == {f"period-{X1}": 60, f"period-{X2}": 12}
        assert {x["key"]: x["members"] for x in origin[X1]["parts"]} == {f"period-{X1}": 177}
        source = {p["period_id"]: p for p in seen["cohorts_source"]["periods"]}
        assert {x["key"]: x["members"] for x in source[X2]["parts"]} == {
            f"period-{X1}": 60, f"channel-{CHANNEL}": 12
        }
        destination = {p["period_id"]: p for p in seen["cohorts_destination"]["periods"]}
        assert {x["key"]: x["members"] for x in destination[X1]["parts"]} == {
            f"period-{X2}": 60, f"period-{X1}": 117
        }
        assert destination[X2]["parts"] == [] and not destination[X2]["ended"]

        (funnel,) = seen["channels"]["channels"]
        assert funnel["channel_id"] == CHANNEL
        assert {x["name"]: x["members"] for x in funnel["steps"]} == {
            "scanned": 12, "followed": 12, "registered": 12, "paid": 12, "completed": 0, "renewed": 0
        }

        overview = {x["name"]: x for x in seen["overview"]["metrics"]}
        assert overview["new_members"]["total"] == 177 + 12
        assert overview["registrations"]["total"] == 177 + 72
        assert overview["paid"]["total"] == 177 + 72
        assert overview["revenue_fen"]["total"] == (177 + 72) * 9900
        assert overview["refunds_fen"]["total"] == 89 * 9900
        assert overview["follows"]["total"] == 12 and overview["net_follows"]["total"] == 12
        assert seen["overview"]["members_total"] == 189

        period = seen["period"]
        assert (period["registrations"], period["paid"], period["members"]) == (177, 177, 177)
        assert period["checkin_days"] == 10 and period["completed"] == 89
        assert period["refunds_issued"] == 89 and period["refund_total_fen"] == 89 * 9900
        assert {b["low"]: b["members"] for b in period["checkin_rate_deciles"] if b["members"]} == {50: 88, 90: 89}

        daily = [p["seconds"] for p in seen["dwell"]["series"] if p["seconds"] is not None]
        assert daily[0] == 1400 and daily[9] == 700
        assert seen["dwell"]["trend_seconds_per_day"] < 0

        # Lifecycle and retention by week: X1's people arrive the week before X1 and stay for its weeks.
        weeks = {b["start"]: b for b in seen["lifecycle"]["buckets"]}
        assert (weeks["2026-02-23"]["new"], weeks["2026-03-02"]["returning"]) == (177, 177)
        assert weeks["2026-03-02"]["new"] == 0 and weeks["2026-03-02"]["dormant"] == 0
        cohorts = {c["cohort"]: c for c in seen["retention"]["cohorts"]}
        assert cohorts["2026-02-23"]["size"] == 177 and cohorts["2026-02-23"]["active"][:3] == [177, 177, 177]
        assert cohorts[min(c for c in cohorts if c > "2026-03-02")]["size"] == 12
        # The last 30 days reach back into X1 (everyone); the last 7 hold the window's 70 and the 12 newcomers.
        assert (overview["mau"]["total"], overview["wau"]["total"]) == (189, 82)
        assert sum(c["events"] for c in seen["heatmap"]["cells"]) == 177 * 10 + 70
        assert {c["hour"] for c in seen["heatmap"]["cells"]} == {20, 9}

        groups = {g["community_id"]: g for g in seen["communities"]["groups"]}
        assert groups[501]["period_id"] == X1 and groups[502]["period_id"] == X2
        assert groups[501]["members_seen"] == 177 and groups[502]["members_seen"] == 72

        # Every event once more: nothing moves.
        await m.publish(s.events)
        await m.drained()
        assert await figures(m, s) == seen

        # Drop every projection and rebuild from what the broker holds: the same answers.
        result = await rebuild(m.settings, logs=False)
        assert result.events >= len(s.events)
        assert await figures(m, s) == seen


async def test_rebuild_from_the_event_logs_alone(metrics_factory):
    """The projections come back from the producers' published outbox rows when the broker has nothing."""
    s = seed_002(period1=40, returning=12, still_in_a=20, active_others=4, newcomers=5)
    async with metrics_factory() as m:
        await m.publish(s.events)
        await m.drained()
        seen = await figures(m, s)
        runtime = m.app.state.runtime
        # campaign's log, played by a stand-in that serves the shared export over this database's outbox.
        async with runtime.session_factory() as session:
            await session.execute(
                insert(OUTBOX_TABLE),
                [
                    {"event_id": e.id, "topic": topic, "key": key, "type": e.type,
                     "envelope": e.model_dump(mode="json"), "published_at": datetime.now(UTC)}
                    for topic, key, e in s.events
                ],
            )
            await session.commit()
        campaign = FastAPI()
        campaign.include_router(export_router)
        campaign.state.runtime = SimpleNamespace(
            session_factory=runtime.session_factory,
            tokens=TokenCodec(m.settings),
            settings=m.settings.model_copy(update={"service_name": "campaign"}),
        )
        settings = m.settings.model_copy(update={"service_urls": {
            "campaign": "http://campaign.test", "gateway": "http://none.test", "identity": "http://none.test",
            "tagging": "http://none.test", "messaging": "http://none.test",
        }})

        async def route(request: httpx.Request) -> httpx.Response:
            if request.url.host != "campaign.test":
                return httpx.Response(404)
            transport = httpx.ASGITransport(app=campaign)
            async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as inner:
                answer = await inner.get(request.url.path, params=request.url.params, headers=request.headers)
                return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

        async with httpx.AsyncClient(transport=httpx.MockTransport(route)) as http:
            result = await rebuild(settings, logs=True, kafka=False, http=http)
        assert result.from_logs == len(s.events)
        assert sorted(result.logs_missing) == ["gateway", "identity", "messaging", "tagging"]
        assert await figures(m, s) == seen

        # The command line does the same from the broker.
        env = {
            **os.environ, "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull,
            "DATABASE_URL": m.settings.database_url, "METRICS_DATABASE_NAME": m.settings.database_name,
            "KAFKA_BOOTSTRAP_SERVERS": m.settings.kafka_bootstrap_servers,
            "QUNYUN_KAFKA_NAMESPACE": m.settings.kafka_namespace,
        }
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "metrics_service.cli", "rebuild", "--no-logs"],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"rebuilt from {len(s.events)} events" in done.stderr
        assert await figures(m, s) == seen
