"""Messaging through the whole system: the gateway, every service, the broker and the simulator.

People act in the simulator, which delivers real signed (safe-mode) pushes to
the gateway; the ledger learns from them through Kafka. Staff send through the
gateway; the simulator keeps WeChat's quotas on its own, so an oversend would
show up there as a refusal. The messaging process is killed mid-broadcast and
restarted: nobody is written to twice, nobody is skipped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.testing.infra import Infra
from shared.testing.system import System, start_system
from shared.testing.waiting import eventually

pytestmark = pytest.mark.e2e

CHECKIN = "活动名称:{{thing1.DATA}}\n打卡日期:{{date2.DATA}}"
NOTICE = "课程:{{thing1.DATA}}\n说明:{{thing2.DATA}}"
DATA = {"title": "单词打卡", "date": "2026-12-01"}


@pytest.fixture(scope="module")
def messaging_system(infra: Infra) -> Iterator[System]:
    """A system of its own: a short WeChat timeout and a fast scheduler, no quiet hours (tests run any time)."""
    system = start_system(infra, {
        "MESSAGING_WECHAT_TIMEOUT_SECONDS": "1", "MESSAGING_SCHEDULER_INTERVAL_SECONDS": "0.5",
        "MESSAGING_QUIET_START": "00:00", "MESSAGING_QUIET_END": "00:00", "MESSAGING_RETRY_BASE_SECONDS": "0.05",
    })
    try:
        yield system
    finally:
        system.stop()


class World:
    """Staff through the gateway, people through the simulator."""

    def __init__(self, system: System, http: httpx.AsyncClient) -> None:
        self.system, self.http = system, http
        self.staff: dict[str, str] = {}

    async def ok(self, response: Any, *status: int) -> Any:
        answer = await response
        assert answer.status_code in (status or (200,)), (answer.request.url, answer.status_code, answer.text)
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text

    def gw(self, path: str) -> str:
        return self.system.gateway + path

    def sim(self, path: str) -> str:
        return self.system.simulator + path

    async def login_staff(self) -> None:
        session = await self.ok(self.http.post(self.gw("/admin/v1/session"), json={
            "username": self.system.admin_username, "password": self.system.admin_password}))
        self.staff = {"authorization": f"Bearer {session['token']}"}

    async def person(self, *, follow: bool = True) -> dict[str, Any]:
        """A person who logged in to the mini-program (a member) and, by default, follows the service account."""
        person = dict(await self.ok(self.http.post(self.sim("/sim/people"), json={})))
        code = (await self.ok(self.http.post(self.sim(f"/sim/people/{person['person_id']}/login-code"))))["code"]
        session = await self.ok(self.http.post(self.gw("/mp/v1/session"), json={"code": code}))
        person["member_no"] = session["member_no"]
        if follow:
            await self.act(person, "follow", {})
        return person

    async def act(self, person: dict[str, Any], action: str, body: dict[str, Any]) -> None:
        answer = await self.ok(self.http.post(self.sim(f"/sim/people/{person['person_id']}/{action}"), json=body))
        assert answer["status"] == 200, answer

    async def reach(self, member_no: int) -> dict[str, Any]:
        return dict(await self.ok(self.http.get(self.gw(f"/admin/v1/members/{member_no}/reach"),
                                                headers=self.staff)))

    async def until_reach(self, member_no: int, check: Any) -> dict[str, Any]:
        return await eventually(lambda: self.reach(member_no), check, timeout=60, interval=0.3)

    async def send(self, member_no: int, purpose: str, data: dict[str, Any], key: str | None = None) -> dict:
        return dict(await self.ok(self.http.post(
            self.gw("/admin/v1/messages"), json={"member_no": member_no, "purpose": purpose, "data": data},
            headers=self.staff | {"Idempotency-Key": key or uuid.uuid4().hex}), 201))

    async def message(self, message_id: int) -> dict[str, Any]:
        return dict(await self.ok(self.http.get(self.gw(f"/admin/v1/messages/{message_id}"), headers=self.staff)))

    async def sent(self, **params: str) -> list[dict[str, Any]]:
        return list(await self.ok(self.http.get(self.sim("/sim/sent"), params=params)))


async def templates(world: World) -> None:
    """Both apps' templates in WeChat (the simulator) and synced into the registry (idempotent)."""
    for app, template_id, title, content in (("mp", "TPL_CHECKIN", "打卡提醒", CHECKIN),
                                             ("oa", "OA_NOTICE", "课程通知", NOTICE)):
        await world.ok(world.http.put(world.sim(f"/sim/templates/{app}/{template_id}"),
                                      json={"title": title, "content": content}))
    await world.ok(world.http.post(world.gw("/admin/v1/templates/sync"), headers=world.staff))


async def setup(world: World) -> None:
    await world.login_staff()
    await templates(world)
    await world.ok(world.http.post(world.gw("/admin/v1/message-purposes"), headers=world.staff, json={
        "name": "checkin.reminder", "class": "transactional", "channels": [
            {"channel": "subscribe", "template_id": "TPL_CHECKIN", "fields": {"thing1": "{title}", "date2": "{date}"}},
            {"channel": "template", "template_id": "OA_NOTICE", "fields": {"thing1": "{title}", "thing2": "请打卡"}},
            {"channel": "custom", "text": "{title}：今天还没打卡哦"},
        ]}), 201)
    await world.ok(world.http.post(world.gw("/admin/v1/message-purposes"), headers=world.staff, json={
        "name": "service.reply", "class": "transactional", "channels": [{"channel": "custom", "text": "{text}"}]}),
        201)


async def test_messaging_through_the_gateway(messaging_system):
    async with httpx.AsyncClient(timeout=30) as http:
        world = World(messaging_system, http)
        await setup(world)

        # Credits from real popup pushes; 12 concurrent sends against 3 credits: exactly 3 subscribe sends.
        person = await world.person()
        for _ in range(3):
            await world.act(person, "subscribe-popup", {"templates": {"TPL_CHECKIN": "accept"}})
        await world.until_reach(person["member_no"], lambda r: r["following"] and r["credits"]
                                and r["credits"][0]["credits"] == 3)
        results = await asyncio.gather(*(world.send(person["member_no"], "checkin.reminder", DATA)
                                         for _ in range(12)))
        assert Counter(r["channel"] for r in results) == {"subscribe": 3, "template": 9}
        assert len(await world.sent(kind="subscribe")) == 3
        first = next(r for r in results if r["channel"] == "subscribe")
        delivered = await eventually(lambda: world.message(first["id"]), lambda m: m["status"] == "delivered",
                                     timeout=60, interval=0.3)
        assert delivered["delivery_status"] == "success"

        # Idempotency through the gateway.
        once = await world.send(person["member_no"], "service.reply", {"text": "一次"}, key="e2e-key")
        again = await world.send(person["member_no"], "service.reply", {"text": "一次"}, key="e2e-key")
        assert once["id"] == again["id"]
        other = await http.post(world.gw("/admin/v1/messages"), headers=world.staff | {"Idempotency-Key": "e2e-key"},
                                json={"member_no": person["member_no"], "purpose": "service.reply",
                                      "data": {"text": "另一个"}})
        assert other.status_code == 422

        # A text opens 5 customer-service sends within 48 h; the sixth never reaches WeChat.
        texter = await world.person()
        await world.act(texter, "text", {"content": "你好"})
        await world.until_reach(texter["member_no"], lambda r: r["custom_sends_remaining"] == 5)
        replies = [await world.send(texter["member_no"], "service.reply", {"text": f"回复{i}"}) for i in range(6)]
        assert [r["status"] for r in replies] == ["sent"] * 5 + ["undeliverable"]
        assert replies[5]["reason"] == "window_closed"
        assert len(await world.sent(kind="custom", touser=texter["oa_openid"])) == 5

        # A timeout is unknown and never resent (no fallback either).
        slow = await world.person()
        await world.act(slow, "subscribe-popup", {"templates": {"TPL_CHECKIN": "accept"}})
        await world.until_reach(slow["member_no"], lambda r: r["following"] and r["credits"])
        await world.ok(http.post(world.sim("/sim/faults"), json={"path": "/cgi-bin/message/subscribe/send",
                                                                 "latency_ms": 3000}))
        unknown = await world.send(slow["member_no"], "checkin.reminder", DATA)
        assert unknown["status"] == "unknown" and unknown["reason"] == "unknown_outcome"
        await asyncio.sleep(2)
        assert await world.sent(kind="template", touser=slow["oa_openid"]) == []
        assert (await world.message(unknown["id"]))["status"] == "unknown"


async def test_broadcast_survives_a_killed_messaging_process(messaging_system):
    async with httpx.AsyncClient(timeout=30) as http:
        world = World(messaging_system, http)
        await world.login_staff()
        await templates(world)
        await world.ok(world.http.post(world.gw("/admin/v1/message-purposes"), headers=world.staff, json={
            "name": "broadcast.notice", "class": "transactional", "channels": [
                {"channel": "template", "template_id": "OA_NOTICE",
                 "fields": {"thing1": "{title}", "thing2": "春季班开课"}}]}), 201)
        people = [await world.person() for _ in range(40)]
        last = people[-1]["member_no"]
        await world.until_reach(last, lambda r: r["following"])
        for p in people:
            await world.until_reach(p["member_no"], lambda r: r["following"])
        before = len(await world.sent(kind="template"))
        broadcast = await world.ok(http.post(world.gw("/admin/v1/broadcasts"), headers=world.staff, json={
            "member_nos": [p["member_no"] for p in people], "purpose": "broadcast.notice", "data": DATA,
            "rate_per_second": 8}), 201)
        await eventually(lambda: world.sent(kind="template"), lambda s: len(s) - before >= 10, timeout=60)
        messaging_system.kill("messaging")
        messaging_system.start("messaging")
        messaging_system.wait_healthy("messaging")
        done = await eventually(
            lambda: world.ok(http.get(world.gw(f"/admin/v1/broadcasts/{broadcast['id']}"), headers=world.staff)),
            lambda b: b["state"] == "finished" and b["remaining"] == 0, timeout=180, interval=1)
        sent = (await world.sent(kind="template"))[before:]
        per_person = Counter(s["touser"] for s in sent)
        assert max(per_person.values()) == 1, "someone got the broadcast twice"
        # Everyone got it, but for a send caught mid-call by the kill (recorded unknown, never resent).
        assert len(per_person) + done["unknown"] >= 40 and done["sent"] + done["unknown"] == 40


async def test_broadcast_to_a_tagging_segment_with_forecast(messaging_system):
    async with httpx.AsyncClient(timeout=30) as http:
        world = World(messaging_system, http)
        await world.login_staff()
        await templates(world)
        staff = world.staff
        await world.ok(http.post(world.gw("/admin/v1/message-purposes"), headers=staff, json={
            "name": "broadcast.spring", "class": "marketing", "channels": [
                {"channel": "template", "template_id": "OA_NOTICE",
                 "fields": {"thing1": "{title}", "thing2": "春季班报名"}}]}), 201)
        followers = [await world.person() for _ in range(3)]
        strangers = [await world.person(follow=False) for _ in range(2)]
        everyone = followers + strangers
        for p in everyone:
            await world.until_reach(p["member_no"], lambda r: r["mp_openid"] is not None)
        for p in followers:
            await world.until_reach(p["member_no"], lambda r: r["following"])
        group = await world.ok(http.post(world.gw("/admin/v1/tag-groups"), headers=staff,
                                         json={"name": f"春季{uuid.uuid4().hex[:6]}"}), 201)
        tag = await world.ok(http.post(world.gw("/admin/v1/tags"), headers=staff,
                                       json={"group_id": group["id"], "name": "春季班意向"}), 201)
        await world.ok(http.post(world.gw(f"/admin/v1/tags/{tag['id']}/members"), headers=staff,
                                 json={"member_nos": [p["member_no"] for p in everyone]}), 200, 201)
        segment = await world.ok(http.post(world.gw("/admin/v1/segments"), headers=staff, json={
            "name": f"春季班{uuid.uuid4().hex[:6]}", "definition": {"tag": tag["id"]}}), 201)
        body = {"segment_id": segment["id"], "purpose": "broadcast.spring", "data": DATA, "rate_per_second": 20}
        # A tag reaches segments within about a second (tagging's index follows its change log).
        forecast = await eventually(
            lambda: world.ok(http.post(world.gw("/admin/v1/broadcasts/preview"), headers=staff, json=body)),
            lambda f: f["total"] == 5, timeout=15,
        )
        assert forecast == {"total": 5, "by_channel": {"template": 3}, "undeliverable": {"not_following": 2}}
        broadcast = await world.ok(http.post(world.gw("/admin/v1/broadcasts"), headers=staff, json=body), 201)
        done = await eventually(
            lambda: world.ok(http.get(world.gw(f"/admin/v1/broadcasts/{broadcast['id']}"), headers=staff)),
            lambda b: b["state"] == "finished", timeout=60, interval=0.5)
        assert done["total"] == 5 and done["sent"] == 3 and done["undeliverable"] == {"not_following": 2}
