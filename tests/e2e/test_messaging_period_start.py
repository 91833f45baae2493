"""``period.starting`` through the whole system: campaign → broker → messaging → simulator.

Members register for a free period through the gateway; staff move the period
to running; campaign publishes ``campaign.period.started`` through its outbox
and messaging, consuming it, writes every confirmed registrant one start notice
(a subscribe message where the member holds a credit, the service account's
template message otherwise, nothing for a member it cannot reach). The
simulator counts the sends. Then the event is delivered again, twice: the same
event (the relay republishes it: the inbox drops it) and the same fact under a
new event id (a replayed event log, a second publisher): the per-member key
drops that one. Nobody gets a second notice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.settings import with_database
from shared.testing.infra import Infra
from shared.testing.system import System
from shared.testing.waiting import eventually

pytestmark = pytest.mark.e2e

START = "课程:{{thing1.DATA}}\n开课日期:{{date2.DATA}}"


async def ok(response: Any, *status: int) -> Any:
    answer = await response
    assert answer.status_code in (status or (200,)), (answer.request.url, answer.status_code, answer.text)
    return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text


async def test_each_registrant_gets_one_start_notice_even_after_redelivery(system: System, infra: Infra) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    mp_template, oa_template = f"TPL_START_{tag}", f"OA_START_{tag}"
    gw, sim = system.gateway, system.simulator
    async with httpx.AsyncClient(timeout=30) as http:
        session = await ok(http.post(f"{gw}/admin/v1/session", json={
            "username": system.admin_username, "password": system.admin_password}))
        staff = {"authorization": f"Bearer {session['token']}"}
        for app, template_id in (("mp", mp_template), ("oa", oa_template)):
            await ok(http.put(f"{sim}/sim/templates/{app}/{template_id}", json={"title": "开课通知", "content": START}))
        await ok(http.post(f"{gw}/admin/v1/templates/sync", headers=staff))
        fields = {"thing1": "第{number}期今天开课", "date2": "{date}"}
        await ok(http.post(f"{gw}/admin/v1/message-purposes", headers=staff, json={
            "name": "period.starting", "class": "transactional", "channels": [
                {"channel": "subscribe", "template_id": mp_template, "fields": fields},
                {"channel": "template", "template_id": oa_template, "fields": fields},
            ]}), 201)

        async def person(*, follow: bool, credit: bool) -> dict[str, Any]:
            p = dict(await ok(http.post(f"{sim}/sim/people", json={})))
            code = (await ok(http.post(f"{sim}/sim/people/{p['person_id']}/login-code")))["code"]
            login = await ok(http.post(f"{gw}/mp/v1/session", json={"code": code}))
            p["member_no"], p["auth"] = login["member_no"], {"authorization": f"Bearer {login['token']}"}
            if follow:
                await ok(http.post(f"{sim}/sim/people/{p['person_id']}/follow", json={}))
            if credit:
                await ok(http.post(f"{sim}/sim/people/{p['person_id']}/subscribe-popup",
                                   json={"templates": {mp_template: "accept"}}))
            return p

        holders = [await person(follow=True, credit=True) for _ in range(3)]
        followers = [await person(follow=True, credit=False) for _ in range(3)]
        unreachable = await person(follow=False, credit=False)
        bystander = await person(follow=True, credit=True)  # follows and holds a credit, never registers

        async def reach(p: dict[str, Any]) -> dict[str, Any]:
            return dict(await ok(http.get(f"{gw}/admin/v1/members/{p['member_no']}/reach", headers=staff)))

        # Messaging knows each credit and follow before the period starts (else routing would judge too early).
        for p in holders + followers:
            await eventually(lambda p=p: reach(p), lambda r, p=p: r["following"] and (
                p not in holders or (r["credits"] and r["credits"][0]["credits"] == 1)), timeout=60, interval=0.3)

        series = await ok(http.post(f"{gw}/admin/v1/series", headers=staff, json={"title": f"开课通知{tag}"}), 201)
        start = (datetime.now(UTC) + timedelta(days=3)).date()
        period = await ok(http.post(f"{gw}/admin/v1/series/{series['id']}/periods", headers=staff, json={
            "title": "第1期", "registration_opens_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=6)).isoformat(),
            "capacity": 100, "fee_fen": 0, "checkin_plan": {"deadline": "22:00:00", "grace_minutes": 30},
        }), 201)
        await ok(http.post(f"{gw}/admin/v1/periods/{period['id']}/state", headers=staff, json={"state": "open"}))
        registrants = holders + followers + [unreachable]
        for p in registrants:
            await ok(http.post(f"{gw}/mp/v1/periods/{period['id']}/registrations", json={},
                               headers=p["auth"] | {"Idempotency-Key": uuid.uuid4().hex}), 201)
        await ok(http.post(f"{gw}/admin/v1/periods/{period['id']}/state", headers=staff, json={"state": "running"}))

        async def notices() -> dict[str, list[dict[str, Any]]]:
            sent = list(await ok(http.get(f"{sim}/sim/sent")))
            return {"subscribe": [s for s in sent if s["kind"] == "subscribe" and s["template_id"] == mp_template],
                    "template": [s for s in sent if s["kind"] == "template" and s["template_id"] == oa_template]}

        expected = len(holders) + len(followers)
        await eventually(notices, lambda n: len(n["subscribe"]) + len(n["template"]) >= expected,
                         timeout=90, interval=0.5)

        async def messages(p: dict[str, Any]) -> list[dict[str, Any]]:
            page = await ok(http.get(f"{gw}/admin/v1/messages", headers=staff,
                                     params={"member_no": p["member_no"], "purpose": "period.starting"}))
            return list(page["items"])

        await eventually(lambda: messages(unreachable), lambda items: [i["status"] for i in items] == [
            "undeliverable"], timeout=60, interval=0.5)

        def check(found: dict[str, list[dict[str, Any]]]) -> None:
            assert sorted(s["touser"] for s in found["subscribe"]) == sorted(p["mp_openid"] for p in holders)
            assert sorted(s["touser"] for s in found["template"]) == sorted(p["oa_openid"] for p in followers)
            for s in found["subscribe"] + found["template"]:
                assert s["body"]["data"]["thing1"]["value"] == "第1期今天开课"

        check(await notices())
        assert (await messages(bystander)) == []
        assert (await reach(holders[0]))["credits"][0]["credits"] == 0

        # Deliver the start again: the same event (republished by campaign's relay) and the same fact under a new
        # event id. Messaging's inbox records the new id once it is consumed.
        campaign_db = with_database(infra.server_uri, system.env["CAMPAIGN_DATABASE_NAME"])
        messaging_db = with_database(infra.server_uri, system.env["MESSAGING_DATABASE_NAME"])
        conn = await asyncpg.connect(campaign_db)
        try:
            row = await conn.fetchrow(
                """SELECT event_id, topic, key, type, envelope::text FROM outbox
                   WHERE type = 'campaign.period.started' AND (envelope->'data'->>'period_id')::bigint = $1""",
                period["id"])
            assert row is not None
            copy_id = uuid.uuid4()
            envelope = json.loads(row["envelope"]) | {"id": str(copy_id)}
            async with conn.transaction():
                await conn.execute("UPDATE outbox SET published_at = NULL WHERE event_id = $1", row["event_id"])
                await conn.execute(
                    "INSERT INTO outbox (event_id, topic, key, type, envelope) VALUES ($1, $2, $3, $4, $5::jsonb)",
                    copy_id, row["topic"], row["key"], row["type"], json.dumps(envelope))
        finally:
            await conn.close()

        async def consumed() -> int:
            c = await asyncpg.connect(messaging_db)
            try:
                return int(await c.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1", copy_id))
            finally:
                await c.close()

        await eventually(consumed, lambda n: n >= 1, timeout=60, interval=0.5)
        await asyncio.sleep(3)  # three scheduler passes: anything written again would be sent by now
        check(await notices())
        for p in registrants:
            assert len(await messages(p)) == 1, p
