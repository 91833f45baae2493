"""Seed 002 played through the whole system: the gateway, every service, the broker and the simulator.

Period X1: 177 people log in, register for the paid word bet, pay in WeChat
(a real pay notification through the gateway), are all seen in group A,
check in over ten days with a spread of rates, and get refunds that match the
rule to the fen. Three weeks later X2: 60 of them come back into group B,
with newcomers who followed the service account from a channel QR code. The
community matrix and the channel stats show it.

Time: campaign-service's clock is moved through its test-only internal API
(``PUT /internal/test/clock``, refused in production); nothing else in the
system depends on the campaign calendar. Counts can be lowered with
``SEED002_PERIOD1`` / ``SEED002_RETURNING`` / ``SEED002_NEWCOMERS``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.auth import TokenCodec
from shared.settings import QunyunSettings
from shared.testing.waiting import eventually

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEE = 9900
DAYS = 10
# Days checked in by person i: CHECKED[i % len(CHECKED)] (first k days of the period).
CHECKED = (10, 9, 8, 7, 6, 5, 3, 0)
RULE = {
    "tiers": [
        {"min_percent": 90, "kind": "percent", "percent": 100},
        {"min_percent": 60, "kind": "proportional"},
    ]
}
PERIOD1 = int(os.environ.get("SEED002_PERIOD1", "177"))
RETURNING = int(os.environ.get("SEED002_RETURNING", "60"))
NEWCOMERS = int(os.environ.get("SEED002_NEWCOMERS", "12"))
CONCURRENCY = 12


def expected_refund(days: int) -> int:
    """The rule, computed independently of the service: ≥ 90 % all back, ≥ 60 % pro rata, else nothing."""
    if days * 100 >= 90 * DAYS:
        return FEE
    if days * 100 >= 60 * DAYS:
        return FEE * days // DAYS
    return 0


async def gather(items: Iterable[Any], work: Callable[[Any], Awaitable[Any]]) -> list[Any]:
    """Run ``work`` over ``items``, a few at a time, as many phones would."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Any) -> Any:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(i) for i in items)))


class Story:
    """The actors: staff through the gateway, people through the simulator and the gateway."""

    def __init__(self, system: Any, client: httpx.AsyncClient) -> None:
        self.system = system
        self.http = client
        self.staff: dict[str, str] = {}
        codec = TokenCodec(QunyunSettings(secret_key=system.env["QUNYUN_SECRET_KEY"]))
        self.internal = lambda: {
            "authorization": "Bearer " + codec.issue_internal(caller="e2e", audience="campaign")
        }

    def gw(self, path: str) -> str:
        return self.system.gateway + path

    def sim(self, path: str) -> str:
        return self.system.simulator + path

    async def ok(self, response: Awaitable[httpx.Response], *status: int) -> Any:
        answer = await response
        assert answer.status_code in (status or (200,)), (answer.request.url, answer.status_code, answer.text)
        return answer.json() if answer.headers.get("content-type", "").find("json") >= 0 else answer

    async def staff_login(self) -> None:
        session = await self.ok(
            self.http.post(
                self.gw("/admin/v1/session"),
                json={"username": self.system.admin_username, "password": self.system.admin_password},
            )
        )
        self.staff = {"authorization": f"Bearer {session['token']}"}

    async def set_clock(self, moment: datetime | None) -> None:
        url = self.system.urls["campaign"] + "/internal/test/clock"
        body = {"now": moment.isoformat() if moment else None}
        await self.ok(self.http.put(url, json=body, headers=self.internal()))

    async def tick(self) -> None:
        url = self.system.urls["campaign"] + "/internal/test/scheduler-tick"
        await self.ok(self.http.post(url, headers=self.internal()))

    async def person(self, _: Any = None) -> dict[str, Any]:
        return dict(await self.ok(self.http.post(self.sim("/sim/people"), json={})))

    async def login(self, person: dict[str, Any]) -> dict[str, Any]:
        """wx.login in the simulator, then POST /mp/v1/session through the gateway."""
        code = (await self.ok(self.http.post(self.sim(f"/sim/people/{person['person_id']}/login-code"))))[
            "code"
        ]
        session = await self.ok(self.http.post(self.gw("/mp/v1/session"), json={"code": code}))
        person["member_no"] = session["member_no"]
        person["auth"] = {"authorization": f"Bearer {session['token']}"}
        return person

    async def register_and_pay(self, person: dict[str, Any], period_id: int, key: str) -> None:
        registration = await self.ok(
            self.http.post(
                self.gw(f"/mp/v1/periods/{period_id}/registrations"),
                json={},
                headers=person["auth"] | {"Idempotency-Key": f"{key}-{uuid.uuid4().hex[:12]}"},
            ),
            201,
        )
        assert registration["state"] == "awaiting_payment", registration
        out_trade_no = registration["order"]["out_trade_no"]
        person.setdefault("orders", {})[period_id] = out_trade_no
        paid = await self.ok(
            self.http.post(
                self.sim(f"/sim/people/{person['person_id']}/pay"), json={"out_trade_no": out_trade_no}
            )
        )
        assert paid["status"] in (200, 204), paid  # the gateway acknowledged the notification

    async def seen_in_group(self, person: dict[str, Any], open_gid: str, period_id: int, kind: str) -> None:
        data = await self.ok(
            self.http.post(
                self.sim(f"/sim/people/{person['person_id']}/encrypted-data"),
                json={"kind": kind, "open_gid": open_gid},
            )
        )
        await self.ok(
            self.http.post(
                self.gw("/mp/v1/group-sightings"),
                json={**data, "period_id": period_id},
                headers=person["auth"],
            ),
            201,
        )

    async def matrix(self, series_id: int) -> dict[str, Any]:
        return dict(
            await self.ok(
                self.http.get(
                    self.gw(f"/admin/v1/communities/matrix?series_id={series_id}"), headers=self.staff
                )
            )
        )

    async def registrants(self, series_id: int, period_id: int) -> int:
        periods = (await self.matrix(series_id))["series"][0]["periods"]
        return int(next(p["registrants"] for p in periods if p["period_id"] == period_id))

    async def create_period(self, series_id: int, *, opens: datetime, start: date) -> dict[str, Any]:
        body = {
            "title": f"第{start.isoformat()}期",
            "registration_opens_at": (opens - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (opens + timedelta(days=1)).isoformat(),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=DAYS - 1)).isoformat(),
            "capacity": 1000,
            "fee_fen": FEE,
            "checkin_plan": {"deadline": "22:00:00", "grace_minutes": 60},
            "refund_rule": RULE,
        }
        period = await self.ok(
            self.http.post(self.gw(f"/admin/v1/series/{series_id}/periods"), json=body, headers=self.staff),
            201,
        )
        return dict(
            await self.ok(
                self.http.post(
                    self.gw(f"/admin/v1/periods/{period['id']}/state"),
                    json={"state": "open"},
                    headers=self.staff,
                )
            )
        )

    async def link_group(self, period_id: int, name: str) -> int:
        """Staff accept the period the group's share cards proposed, and name the group."""
        groups = (
            await self.ok(self.http.get(self.gw("/admin/v1/communities?unlinked=true"), headers=self.staff))
        )["items"]
        (group,) = [g for g in groups if g["proposed_period_id"] == period_id]
        await self.ok(
            self.http.post(
                self.gw(f"/admin/v1/communities/{group['id']}/accept-proposal"), headers=self.staff
            )
        )
        named = await self.ok(
            self.http.patch(
                self.gw(f"/admin/v1/communities/{group['id']}"), json={"name": name}, headers=self.staff
            )
        )
        assert named["period_id"] == period_id and named["name"] == name
        return int(group["id"])


async def test_seed_002(system):
    assert RETURNING <= PERIOD1
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=40)) as client:
        story = Story(system, client)
        await story.set_clock(None)
        try:
            await _play(story)
        finally:
            await story.set_clock(None)


async def _play(story: Story) -> None:
    await story.staff_login()
    series = await story.ok(
        story.http.post(story.gw("/admin/v1/series"), json={"title": "X 单词对赌"}, headers=story.staff), 201
    )
    today = datetime.now(SHANGHAI).date()
    x1 = await story.create_period(series["id"], opens=datetime.now(UTC), start=today + timedelta(days=1))

    # X1: everyone logs in, registers and pays in WeChat.
    people = await gather(range(PERIOD1), story.person)
    await gather(people, story.login)
    assert len({p["member_no"] for p in people}) == PERIOD1
    await gather(people, lambda p: story.register_and_pay(p, x1["id"], "x1"))
    await eventually(lambda: story.registrants(series["id"], x1["id"]), lambda n: n == PERIOD1, timeout=90)

    # Everyone opens an X1 card shared in group A (newer clients report it as group-enter data).
    await gather(
        enumerate(people),
        lambda ip: story.seen_in_group(ip[1], "G-X1-A", x1["id"], "share" if ip[0] % 3 else "group_enter"),
    )
    group_a = await story.link_group(x1["id"], "X1 A 群")

    # The ten days of X1, each morning at ten.
    await story.ok(
        story.http.post(
            story.gw(f"/admin/v1/periods/{x1['id']}/state"), json={"state": "running"}, headers=story.staff
        )
    )
    start = date.fromisoformat(x1["start_date"])
    for day in range(DAYS):
        await story.set_clock(datetime.combine(start + timedelta(days=day), time(10, 0), SHANGHAI))
        todays = [p for i, p in enumerate(people) if CHECKED[i % len(CHECKED)] > day]

        async def check_in(person: dict[str, Any], day: int = day) -> None:
            await story.ok(
                story.http.post(
                    story.gw(f"/mp/v1/periods/{x1['id']}/checkins"),
                    json={"text": f"day {day + 1}"},
                    headers=person["auth"],
                ),
                201,
            )

        await gather(todays, check_in)

    # The day after: staff close X1; refunds go out through WeChat Pay and come back as notifications.
    await story.set_clock(datetime.combine(start + timedelta(days=DAYS), time(9, 0), SHANGHAI))
    await story.ok(
        story.http.post(
            story.gw(f"/admin/v1/periods/{x1['id']}/state"), json={"state": "closed"}, headers=story.staff
        )
    )
    expected = {
        p["orders"][x1["id"]]: expected_refund(CHECKED[i % len(CHECKED)]) for i, p in enumerate(people)
    }
    due = {no: fen for no, fen in expected.items() if fen}

    async def settled() -> str:
        await story.tick()
        period = await story.ok(
            story.http.get(story.gw(f"/admin/v1/periods/{x1['id']}"), headers=story.staff)
        )
        return str(period["state"])

    await eventually(settled, lambda s: s == "settled", timeout=120, interval=2)
    report = await story.ok(
        story.http.get(story.gw(f"/admin/v1/periods/{x1['id']}/settlement"), headers=story.staff)
    )
    assert report["registrants"] == PERIOD1
    assert report["refund_total_fen"] == report["refunded_fen"] == sum(due.values())
    assert report["failures"] == []
    # What WeChat Pay actually paid back, per order, to the fen.
    pushes = await story.ok(story.http.get(story.sim("/sim/pushes?target=pay")))
    refunded: dict[str, int] = {}
    for push in pushes:
        if push["message"]["event_type"] == "REFUND.SUCCESS":
            resource = push["message"]["resource"]
            if resource["out_trade_no"] in expected:
                refunded[resource["out_trade_no"]] = refunded.get(resource["out_trade_no"], 0) + int(
                    resource["amount"]["refund"]
                )
    assert refunded == due

    # Three weeks later: X2 opens; a channel QR code brings newcomers through the service account.
    x2_open = datetime.combine(start + timedelta(days=DAYS + 21), time(10, 0), SHANGHAI)
    await story.set_clock(x2_open)
    x2 = await story.create_period(series["id"], opens=x2_open, start=x2_open.date() + timedelta(days=2))
    channel = await story.ok(
        story.http.post(
            story.gw("/admin/v1/channels"),
            json={"name": "X2 地推海报", "code": "x2-poster"},
            headers=story.staff,
        ),
        201,
    )
    assert channel["qr_ticket"] and channel["qr_image_url"]
    png = await story.http.get(
        story.gw(f"/admin/v1/channels/{channel['id']}/wxacode.png"), headers=story.staff
    )
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    newcomers = await gather(range(NEWCOMERS), story.person)
    await gather(
        newcomers,
        lambda p: story.ok(
            story.http.post(
                story.sim(f"/sim/people/{p['person_id']}/follow"), json={"scene": channel["code"]}
            )
        ),
    )

    async def channel_stats() -> dict[str, Any]:
        return dict(
            await story.ok(
                story.http.get(story.gw(f"/admin/v1/channels/{channel['id']}/stats"), headers=story.staff)
            )
        )

    # The follow reaches campaign twice: the raw push (a follow) and identity's resolved member (first touch).
    await eventually(
        channel_stats, lambda s: (s["follows"], s["members"]) == (NEWCOMERS, NEWCOMERS), timeout=90
    )
    await gather(newcomers, story.login)
    returning = people[:RETURNING]
    x2_people = returning + newcomers
    await gather(x2_people, lambda p: story.register_and_pay(p, x2["id"], "x2"))
    await eventually(
        lambda: story.registrants(series["id"], x2["id"]), lambda n: n == RETURNING + NEWCOMERS, timeout=90
    )
    await gather(x2_people, lambda p: story.seen_in_group(p, "G-X2-B", x2["id"], "share"))
    group_b = await story.link_group(x2["id"], "X2 B 群")

    stats = await channel_stats()
    assert (stats["registrations"], stats["payments"], stats["paid_fen"]) == (
        NEWCOMERS,
        NEWCOMERS,
        NEWCOMERS * FEE,
    )

    matrix = await story.matrix(series["id"])
    (row,) = matrix["series"]
    p1, p2 = row["periods"]
    assert (p1["period_id"], p1["registrants"], p2["period_id"], p2["registrants"]) == (
        x1["id"],
        PERIOD1,
        x2["id"],
        RETURNING + NEWCOMERS,
    )
    assert [
        (g["community_id"], g["name"], g["members_seen"], g["period_members_seen"]) for g in p1["groups"]
    ] == [(group_a, "X1 A 群", PERIOD1, PERIOD1)]
    assert [
        (g["community_id"], g["name"], g["members_seen"], g["period_members_seen"]) for g in p2["groups"]
    ] == [(group_b, "X2 B 群", RETURNING + NEWCOMERS, RETURNING + NEWCOMERS)]
    # X2's registrants: the returning ones are still in group A too (users kept from X1).
    assert {r["community_id"]: r["registrants_seen"] for r in p2["seen_in"]} == {
        group_a: RETURNING,
        group_b: RETURNING + NEWCOMERS,
    }
    assert all(g["last_activity_at"] for g in p1["groups"] + p2["groups"])
    if (PERIOD1, RETURNING) == (177, 60):
        assert round(100 * RETURNING / PERIOD1) == 34  # the renewal rate of seed 002
