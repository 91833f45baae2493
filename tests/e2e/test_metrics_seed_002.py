"""Seed 002's worked numbers through the whole system, read back from the metrics API at the gateway.

X1: 177 people log in in the simulator, register and pay through WeChat Pay (a
real pay notification through the gateway) and are all seen in group A; X1
runs and ends. Two weeks later 87 of them open a card in group A again. In the
week before X2 opens, 70 of X1's people use the mini-program (the 60 who will
renew and 10 others). Three weeks after X1 ended, X2 opens: the 60 and 12
newcomers from a channel QR code (followed through the service account)
register, pay and are seen in group B.

The metrics API must answer: renewal 60 / 177 = 33.9 %, still in groups 147,
active 70, active ratio 70 / 147 = 47.6 %, churned 30 / 177 = 16.9 %; X2's
origin view 60 from X1 and 12 new; the channel's funnel; a dwell trend from
about 1,400 s to about 700 s per member per day.

Time: campaign-service's test clock is moved (``PUT /internal/test/clock``);
metrics takes every day from the events' ``occurred_at``, so its calendar moves
with the campaign's. The gateway's ``POST /mp/v1/activity`` checks ``at``
against its own wall clock (≤ 24 h old), which the campaign clock does not
move, so the mini-program telemetry of those future weeks is put on
``app.activity`` exactly as the gateway's relay would (same envelope, key and
topic).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.gateway import ActivityRecorded
from shared.events.envelope import Envelope
from shared.kafka.topics import APP_ACTIVITY
from shared.testing.infra import Infra
from shared.testing.modules import load_test_module
from shared.testing.system import System, own_system
from shared.testing.waiting import eventually

# Groups of this run only: seed 002's story uses groups of the same names, and a group is one
# openGId system-wide.
_RUN = uuid.uuid4().hex[:6]
GROUP_A, GROUP_B = f"G-X1-A-{_RUN}", f"G-X2-B-{_RUN}"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


story_module = load_test_module(Path(__file__).with_name("test_seed_002_story.py"), "qunyun_e2e_seed_002_story")
SHANGHAI = story_module.SHANGHAI
PERIOD1, RETURNING, STILL_IN_A, ACTIVE_OTHERS, NEWCOMERS = 177, 60, 87, 10, 12
DWELL_PEOPLE, DWELL_DAYS = 20, 17


@pytest.fixture(scope="module")
def system(infra: Infra) -> Iterator[System]:
    """A system of its own: the dwell figure is every member's page time of a day, and other
    tests' page views (at the real now, e.g. the layered selection's) fall on X1's days."""
    with own_system(infra) as running:
        yield running


async def publish_activity(system: Any, items: list[tuple[int, datetime, int | None, str]]) -> None:
    """Telemetry ``(member_no, at, duration_ms, page)`` on app.activity, as the gateway's relay publishes it."""
    producer = AIOKafkaProducer(bootstrap_servers=system.env["KAFKA_BOOTSTRAP_SERVERS"], linger_ms=5)
    await producer.start()
    try:
        topic = system.env.get("QUNYUN_KAFKA_NAMESPACE", "") + APP_ACTIVITY
        for i, (member_no, at, duration_ms, page) in enumerate(items):
            data = ActivityRecorded(
                member_no=member_no, kind="page.viewed", at=at, page=page, duration_ms=duration_ms,
                client_event_id=f"e2e-{member_no}-{i}",
            )
            envelope = Envelope(
                type="app.activity.recorded", source="gateway", occurred_at=at, member_no=member_no,
                data=data.model_dump(mode="json"),
            )
            await producer.send(topic, envelope.to_bytes(), key=str(member_no).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def test_metrics_of_seed_002(system):
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=40)) as client:
        story = story_module.Story(system, client)
        await story.set_clock(None)
        try:
            await _play(story)
        finally:
            await story.set_clock(None)


async def _metrics(story: Any, path: str, **params: Any) -> Any:
    return await story.ok(story.http.get(story.gw("/admin/v1/metrics" + path), params=params, headers=story.staff))


async def _play(story: Any) -> None:
    gather = story_module.gather
    await story.staff_login()
    series = await story.ok(
        story.http.post(story.gw("/admin/v1/series"), json={"title": "X 单词对赌"}, headers=story.staff), 201
    )
    real_today = datetime.now(SHANGHAI).date()
    x1 = await story.create_period(series["id"], opens=datetime.now(UTC), start=real_today + timedelta(days=1))

    people = await gather(range(PERIOD1), story.person)
    await gather(people, story.login)
    await gather(people, lambda p: story.register_and_pay(p, x1["id"], "x1"))
    await eventually(lambda: story.registrants(series["id"], x1["id"]), lambda n: n == PERIOD1, timeout=120)
    await gather(people, lambda p: story.seen_in_group(p, GROUP_A, x1["id"], "share"))
    await story.link_group(x1["id"], "X1 A 群")

    await story.ok(
        story.http.post(
            story.gw(f"/admin/v1/periods/{x1['id']}/state"), json={"state": "running"}, headers=story.staff
        )
    )
    start = date.fromisoformat(x1["start_date"])
    days = story_module.DAYS
    ended = datetime.combine(start + timedelta(days=days), time(9, 0), SHANGHAI)
    await story.set_clock(ended)
    await story.ok(
        story.http.post(
            story.gw(f"/admin/v1/periods/{x1['id']}/state"), json={"state": "closed"}, headers=story.staff
        )
    )

    # Dwell falls as the novelty wears off: ~1,400 s per member per day at first, ~700 s after two weeks.
    dwell = []
    for day in range(DWELL_DAYS):
        seconds = 1400 - 700 * day // (DWELL_DAYS - 1)
        at = datetime.combine(start + timedelta(days=day), time(21, 0), SHANGHAI)
        dwell += [(p["member_no"], at, seconds * 1000, "pages/study") for p in people[:DWELL_PEOPLE]]
    await publish_activity(story.system, dwell)

    # Two weeks after X1 ended, 87 of those who will not renew open a card in group A again.
    back, others = people[:RETURNING], people[RETURNING:]
    await story.set_clock(ended + timedelta(days=14))
    await gather(others[:STILL_IN_A], lambda p: story.seen_in_group(p, GROUP_A, x1["id"], "share"))

    # The week before X2 opens: the 60 and 10 others use the mini-program.
    x2_open = ended + timedelta(days=21)
    await publish_activity(
        story.system,
        [(p["member_no"], x2_open - timedelta(days=3), 120_000, "pages/home") for p in back + others[:ACTIVE_OTHERS]],
    )

    # X2 opens three weeks after X1 ended; newcomers come through a channel QR code and the service account.
    await story.set_clock(x2_open)
    x2 = await story.create_period(series["id"], opens=x2_open, start=x2_open.date() + timedelta(days=2))
    channel = await story.ok(
        story.http.post(
            story.gw("/admin/v1/channels"), json={"name": "X2 地推海报", "code": f"x2-poster-{_RUN}"},
            headers=story.staff
        ),
        201,
    )
    newcomers = await gather(range(NEWCOMERS), story.person)
    await gather(
        newcomers,
        lambda p: story.ok(
            story.http.post(story.sim(f"/sim/people/{p['person_id']}/follow"), json={"scene": channel["code"]})
        ),
    )

    async def channel_members() -> int:
        stats = await story.ok(
            story.http.get(story.gw(f"/admin/v1/channels/{channel['id']}/stats"), headers=story.staff)
        )
        return int(stats["members"])

    await eventually(channel_members, lambda n: n == NEWCOMERS, timeout=90)
    await gather(newcomers, story.login)
    x2_people = back + newcomers
    await gather(x2_people, lambda p: story.register_and_pay(p, x2["id"], "x2"))
    await eventually(
        lambda: story.registrants(series["id"], x2["id"]), lambda n: n == RETURNING + NEWCOMERS, timeout=120
    )
    await gather(x2_people, lambda p: story.seen_in_group(p, GROUP_B, x2["id"], "share"))
    await story.link_group(x2["id"], "X2 B 群")

    # The renewal figure, once metrics has consumed everything.
    expected = {
        "members": 177, "renewed": 60, "renewal_rate": 0.339, "still_in_groups": 147,
        "non_renewers_in_groups": 87, "active_in_window": 70, "non_renewers_active": 10,
        "active_ratio": 0.476, "churned": 30, "churn_rate": 0.169,
    }

    async def renewal() -> dict[str, Any]:
        figure = await _metrics(story, f"/series/{series['id']}/renewal")
        steps = figure["steps"]
        return {k: steps[0][k] for k in expected} if steps else {}

    assert await eventually(renewal, lambda r: r == expected, timeout=120, interval=1) == expected

    origin = await _metrics(story, f"/series/{series['id']}/cohorts", view="origin")
    by_period = {p["period_id"]: {x["key"]: x["members"] for x in p["parts"]} for p in origin["periods"]}
    assert by_period[x2["id"]] == {f"period-{x1['id']}": RETURNING, f"period-{x2['id']}": NEWCOMERS}
    assert by_period[x1["id"]] == {f"period-{x1['id']}": PERIOD1}

    window = {
        "from": (real_today - timedelta(days=1)).isoformat(),
        "to": (x2_open.date() + timedelta(days=1)).isoformat(),
    }
    channels = await _metrics(story, "/channels", **window)
    (funnel,) = [c for c in channels["channels"] if c["channel_id"] == channel["id"]]
    steps = {s["name"]: s["members"] for s in funnel["steps"]}
    assert (steps["scanned"], steps["followed"], steps["registered"], steps["paid"]) == (NEWCOMERS,) * 4

    dwell_range = {"from": start.isoformat(), "to": (start + timedelta(days=DWELL_DAYS - 1)).isoformat()}
    figure = await _metrics(story, "/dwell", **dwell_range)
    daily = [p["seconds"] for p in figure["series"]]
    assert daily[0] == 1400 and daily[-1] == 700, daily
    assert figure["trend_seconds_per_day"] < 0
    weekly = await _metrics(story, "/dwell", **dwell_range, granularity="week")
    values = [p["seconds"] for p in weekly["series"] if p["seconds"] is not None]
    assert values == sorted(values, reverse=True), values

    csv = await story.http.get(
        story.gw(f"/admin/v1/metrics/series/{series['id']}/renewal"), params={"format": "csv"}, headers=story.staff
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())
