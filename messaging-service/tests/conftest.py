"""messaging-service in-process on a migrated database, writing through the in-process WeChat simulator.

The simulator's pushes (popup answers, follows, texts, delivery results) are
received here, normalised as the gateway does and handed to messaging's own
consumer handlers, so the ledger learns what WeChat saw; the simulator keeps
its own credits and windows and refuses an oversend with WeChat's errcode.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from messaging_service.config import MessagingSettings
from messaging_service.handlers import consumers
from messaging_service.main import create_app
from messaging_service.wechat import MessagingApi
from shared.contracts import EventData, spec_of
from shared.contracts.gateway import (
    MenuClicked,
    MessageReceived,
    Scanned,
    Subscribed,
    SubscribePopup,
    SubscribeSent,
    TemplateSendFinished,
    Unsubscribed,
)
from shared.contracts.identity import IdentityLinked, MemberCreated
from shared.contracts.tagging import MemberBlocked
from shared.db import unit_of_work
from shared.events.envelope import Envelope
from shared.testing.wechat import SimulatorTokens
from shared.wechat.push import event_items, parse_push, sniff_format

MEMBER_NOS = itertools.count(20001)


def normalise(app: str, appid: str, message: dict[str, Any]) -> EventData | None:
    """What the gateway publishes for a push (the subset messaging consumes)."""
    base = {"app": app, "appid": appid, "openid": message["FromUserName"], "to_user": message["ToUserName"],
            "create_time": datetime.fromtimestamp(int(message["CreateTime"]), UTC)}
    if message.get("MsgType") != "event":
        return MessageReceived(**base, msg_type=message["MsgType"], msg_id=str(message.get("MsgId") or ""),
                               content=message.get("Content"))
    name = str(message.get("Event", ""))
    key = str(message.get("EventKey") or "")
    lowered = name.lower()
    if lowered == "subscribe":
        return Subscribed(**base, scene=key.removeprefix("qrscene_") or None)
    if lowered == "unsubscribe":
        return Unsubscribed(**base)
    if lowered == "scan":
        return Scanned(**base, scene=key)
    if lowered == "click":
        return MenuClicked(**base, kind="CLICK", key=key)
    if lowered == "templatesendjobfinish":
        return TemplateSendFinished(**base, msg_id=str(message.get("MsgID")), status=str(message.get("Status")))
    if lowered in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
        decisions = [{"template_id": i.get("TemplateId", ""), "status": i.get("SubscribeStatusString", "")}
                     for i in event_items(message)]
        return SubscribePopup(**base, event_name=lowered, decisions=decisions)  # type: ignore[arg-type]
    if lowered == "subscribe_msg_sent_event":
        results = [{"template_id": i.get("TemplateId", ""), "msg_id": i.get("MsgID", ""),
                    "error_code": i.get("ErrorCode", ""), "error_status": i.get("ErrorStatus", "")}
                   for i in event_items(message)]
        return SubscribeSent(**base, results=results)
    return None


@dataclass
class Messaging:
    """A running messaging service, the simulator, and helpers to act as staff, people and WeChat."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: MessagingSettings
    headers: Callable[..., dict[str, str]]
    sim: httpx.AsyncClient
    sim_app: FastAPI
    applied: list[str] = field(default_factory=list)
    keys: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def staff(self, *roles: str) -> dict[str, str]:
        return self.headers(self.settings, staff_roles=roles or ("operator",))

    async def apply(self, data: EventData, occurred_at: datetime | None = None,
                    extra: dict[str, Any] | None = None) -> None:
        """Hand an event to messaging's consumer handler for its type, in one transaction.

        ``extra`` adds fields to the payload (a newer producer's fields this contract does not know yet).
        """
        spec = spec_of(data)
        payload = data.model_dump(mode="json") | (extra or {})
        envelope = Envelope(type=spec.type, version=spec.version, source="test", data=payload)
        if occurred_at is not None:
            envelope = envelope.model_copy(update={"occurred_at": occurred_at})
        for consumer in consumers(self.runtime):
            handler = consumer.handlers.get(spec.type)
            if handler is not None:
                async with unit_of_work(self.runtime.session_factory) as session:
                    await handler(session, envelope)
        self.applied.append(spec.type)

    async def person(self, *, follow: bool = False) -> dict[str, Any]:
        """A simulated person identity knows as a new member (mini-program openid, and the service account's)."""
        person = dict((await self.sim.post("/sim/people", json={})).json())
        member_no = next(MEMBER_NOS)
        person["member_no"] = member_no
        await self.apply(MemberCreated(member_no=member_no, app="mp", appid=self.settings.mp_appid,
                                       openid=person["mp_openid"]))
        await self.apply(IdentityLinked(member_no=member_no, app="oa", appid=self.settings.oa_appid,
                                        openid=person["oa_openid"]))
        if follow:
            await self.act(person, "follow", {})
        return person

    async def act(self, person: dict[str, Any], action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Make the person act in WeChat; the push reaches messaging's handlers."""
        answer = await self.sim.post(f"/sim/people/{person['person_id']}/{action}", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def accept(self, person: dict[str, Any], *templates: str) -> None:
        await self.act(person, "subscribe-popup", {"templates": {t: "accept" for t in templates}})

    async def block(self, person: dict[str, Any]) -> None:
        await self.apply(MemberBlocked(member_no=person["member_no"], reason="ads"))

    async def template(self, app: str, template_id: str, title: str, content: str, type_: int = 2) -> None:
        answer = await self.sim.put(f"/sim/templates/{app}/{template_id}",
                                    json={"title": title, "content": content, "type": type_})
        assert answer.status_code == 200, answer.text

    async def sync(self) -> dict[str, Any]:
        answer = await self.client.post("/admin/v1/templates/sync", headers=self.staff())
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def purpose(self, name: str, klass: str, channels: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/admin/v1/message-purposes", headers=self.staff(),
            json={"name": name, "class": klass, "channels": channels, **extra},
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def send(self, member_no: int, purpose: str, data: dict[str, Any], *, key: str | None = None,
                   send_at: datetime | None = None, expect: int = 201) -> dict[str, Any]:
        body: dict[str, Any] = {"member_no": member_no, "purpose": purpose, "data": data}
        if send_at is not None:
            body["send_at"] = send_at.isoformat()
        answer = await self.client.post(
            "/internal/messages", json=body,
            headers=self.headers(self.settings, caller="campaign") | {"Idempotency-Key": key or f"k{next(self.keys)}"},
        )
        assert answer.status_code == expect, answer.text
        return dict(answer.json())

    async def detail(self, message_id: int) -> dict[str, Any]:
        answer = await self.client.get(f"/admin/v1/messages/{message_id}", headers=self.staff())
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def reach(self, member_no: int) -> dict[str, Any]:
        answer = await self.client.get(f"/admin/v1/members/{member_no}/reach", headers=self.staff())
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def sent(self, kind: str | None = None, touser: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("kind", kind), ("touser", touser)) if v}
        return list((await self.sim.get("/sim/sent", params=params)).json())

    async def drain(self) -> None:
        """Wait for the simulator's asynchronous pushes (delivery results) to be applied."""
        await self.sim_app.state.sim.state.drain()

    def set_now(self, moment: datetime) -> None:
        """Move both clocks so that now is ``moment`` (the simulator only forwards)."""
        clock = self.runtime.extras["clock"]
        delta = moment - clock.now()
        clock.offset += delta
        state = self.sim_app.state.sim.state
        state.clock_offset += delta.total_seconds()

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self.set_now(self.runtime.extras["clock"].now() + timedelta(seconds=seconds))

    async def tick(self) -> None:
        from messaging_service import scheduler

        await scheduler.tick(self.runtime)


@asynccontextmanager
async def _simulator(receive: Callable[[str, dict[str, Any]], Any]) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from wechat_simulator.config import SimulatorSettings
    from wechat_simulator.main import create_app as create_simulator

    settings = SimulatorSettings(
        _env_file=None, gateway_url="http://gateway.test", oa_push_mode="plain", mp_push_mode="plain",
        mp_push_format="json", push_timeout_seconds=5,
    )
    receiver = FastAPI()

    async def pushed(request: Request) -> Response:
        app = request.path_params["app"]
        body = await request.body()
        await receive(app, parse_push(body, sniff_format(body)))
        return Response("success")

    receiver.add_api_route("/wechat/{app}/{appid}", pushed, methods=["POST"])
    sim_app = create_simulator(settings, push_transport=httpx.ASGITransport(app=receiver))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url="http://sim") as client:
        try:
            yield sim_app, client
        finally:
            sim_app.state.sim.state.reset()
            await sim_app.state.sim.delivery.aclose()


@pytest.fixture
def messaging_factory(migrated_db, service_settings, internal_headers, running_app) -> Callable[..., Any]:
    """``async with messaging_factory(**settings) as m``."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Messaging]:
        values: dict[str, Any] = {"run_worker": False, "scheduler_interval_seconds": 3600,
                                  "retry_base_seconds": 0.01}
        values.update(overrides)
        settings = service_settings(MessagingSettings, await migrated_db("messaging"), **values)
        app = create_app(settings)
        holder: dict[str, Messaging] = {}

        async def receive(kind: str, message: dict[str, Any]) -> None:
            m = holder["m"]
            appid = settings.oa_appid if kind == "oa" else settings.mp_appid
            data = normalise(kind, appid, message)
            if data is not None:
                await m.apply(data)

        async with running_app(app) as client, _simulator(receive) as (sim_app, sim):
            runtime = app.state.runtime
            runtime.extras["wechat"] = MessagingApi(sim, "http://sim")
            runtime.extras["tokens"] = SimulatorTokens(sim, {
                settings.oa_appid: settings.oa_secret.get_secret_value(),
                settings.mp_appid: settings.mp_secret.get_secret_value(),
            })
            m = Messaging(app=app, client=client, settings=settings, headers=internal_headers, sim=sim,
                          sim_app=sim_app)
            holder["m"] = m
            yield m

    return make
