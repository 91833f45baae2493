"""Slices 2 and 3: the reach ledger exact under concurrency, windows, cap, quiet hours, fallback, idempotency.

The simulator keeps WeChat's quotas on its own: an oversend by the service
would show up as a 43101 / 45015 / 45047 there, and as ``refused`` attempts here.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHECKIN = "活动名称:{{thing1.DATA}}\n打卡日期:{{date2.DATA}}"
NOTICE = "课程:{{thing1.DATA}}\n说明:{{thing2.DATA}}"
DATA = {"title": "单词打卡", "date": "2026-12-01"}
# Sent, and maybe already delivered (the delivery push can beat the test's next look).
OK = {"sent": "sent", "delivered": "sent"}


def at_shanghai(hour: int, minute: int = 0, days: int = 1) -> datetime:
    """A moment at a local time on a day after today (never inside a real-time quiet hour by accident)."""
    today = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return datetime(today.year, today.month, today.day, hour, minute, tzinfo=SHANGHAI)


async def setup(m, klass: str = "transactional", name: str = "checkin.reminder", **extra):
    await m.template("mp", "TPL_CHECKIN", "打卡提醒", CHECKIN)
    await m.template("oa", "OA_NOTICE", "课程通知", NOTICE)
    await m.sync()
    return await m.purpose(name, klass, [
        {"channel": "subscribe", "template_id": "TPL_CHECKIN", "fields": {"thing1": "{title}", "date2": "{date}"},
         "page": "pages/checkin/index"},
        {"channel": "template", "template_id": "OA_NOTICE", "fields": {"thing1": "{title}", "thing2": "今天还没打卡"}},
        {"channel": "custom", "text": "{title}：今天还没打卡哦"},
    ], **extra)


async def test_credits_are_exact_under_concurrency_and_fall_back_in_order(messaging_factory):
    async with messaging_factory(db_pool_size=20, db_max_overflow=20) as m:
        m.set_now(at_shanghai(12))
        await setup(m)
        person = await m.person(follow=True)
        for _ in range(5):
            await m.accept(person, "TPL_CHECKIN")
        reach = await m.reach(person["member_no"])
        assert [(c["template_id"], c["credits"]) for c in reach["credits"]] == [("TPL_CHECKIN", 5)]

        fast = m.runtime.extras["fast"]
        before = fast.counts.copy()
        statements = fast.router.statements
        results = await asyncio.gather(*(m.send(person["member_no"], "checkin.reminder", DATA) for _ in range(30)))
        # Every send went the driver-pool way: routed and recorded in batches (concurrent sends share statements).
        assert fast.counts["routed"] - before["routed"] == 30
        assert fast.counts["batched"] - before["batched"] == 30
        assert fast.router.statements - statements < 30 and fast.router.retried == 0
        channels = [r["channel"] for r in results]
        assert channels.count("subscribe") == 5
        assert channels.count("template") == 25  # the member follows: the next channel in order
        assert len(await m.sent("subscribe")) == 5
        # WeChat (the simulator) never refused a subscribe send: no oversend.
        assert all(r["status"] in ("sent", "delivered") for r in results)
        fell_back = next(r for r in results if r["channel"] == "template")
        assert fell_back["reasons"] == ["no_credit"]
        assert (await m.reach(person["member_no"]))["credits"][0]["credits"] == 0
        credits = (await m.sim.get("/sim/credits", params={"touser": person["mp_openid"]})).json()
        assert credits[0]["credits"] == 0

        # Delivery results come from subscribe_msg_sent_event / TEMPLATESENDJOBFINISH pushes.
        await m.drain()
        sub = next(r for r in results if r["channel"] == "subscribe")
        detail = await m.detail(sub["id"])
        assert detail["status"] == "delivered" and detail["delivery_status"] == "success"
        assert [a["outcome"] for a in detail["attempts"]] == ["sent"]
        tpl = await m.detail(fell_back["id"])
        assert tpl["status"] == "delivered"
        assert [(a["channel"], a["outcome"], a["reason"]) for a in tpl["attempts"]] == [
            ("subscribe", "skipped", "no_credit"), ("template", "sent", None)]

        # Not following and no credit: the window decides; without one, undeliverable with the reason.
        stranger = await m.person()
        lost = await m.send(stranger["member_no"], "checkin.reminder", DATA)
        assert lost["status"] == "undeliverable" and lost["reason"] == "no_credit"
        assert lost["reasons"] == ["no_credit", "not_following", "not_following"]


async def test_customer_service_windows_48h_and_one_minute(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("service.reply", "transactional", [{"channel": "custom", "text": "{text}"}])
        person = await m.person(follow=True)  # the follow: 3 sends within 1 minute
        got = [await m.send(person["member_no"], "service.reply", {"text": f"欢迎 {i}"}) for i in range(4)]
        assert [g["status"] for g in got] == ["sent", "sent", "sent", "undeliverable"]
        assert got[3]["reason"] == "window_closed"

        await m.act(person, "text", {"content": "你好"})  # a message: 5 sends within 48 h
        reach = await m.reach(person["member_no"])
        assert reach["custom_sends_remaining"] == 5
        got = [await m.send(person["member_no"], "service.reply", {"text": f"回复 {i}"}) for i in range(6)]
        assert [g["status"] for g in got] == ["sent"] * 5 + ["undeliverable"]
        assert len(await m.sent("custom")) == 8  # WeChat was never called beyond the window

        await m.act(person, "text", {"content": "在吗"})
        m.advance(47 * 3600)
        assert (await m.send(person["member_no"], "service.reply", {"text": "47 小时后"}))["status"] == "sent"
        m.advance(2 * 3600)
        late = await m.send(person["member_no"], "service.reply", {"text": "49 小时后"})
        assert late["status"] == "undeliverable" and late["reason"] == "window_closed"

        await m.act(person, "click", {"key": "MENU_HELP"})
        m.advance(61)
        assert (await m.send(person["member_no"], "service.reply", {"text": "61 秒后"}))["reason"] == "window_closed"
        refused = (await m.sim.get("/sim/stats")).json()
        assert refused["api_calls"]["/cgi-bin/message/custom/send"] == 9


async def test_window_refusals_reconcile_the_ledger(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("service.reply", "transactional", [{"channel": "custom", "text": "{text}"}])
        person = await m.person(follow=True)
        # WeChat's window was used up behind our back (a send from another tool): WeChat says 45047.
        sim_person = m.sim_app.state.sim.state.people[person["person_id"]]
        for window in sim_person.windows["oa"].values():
            window.used = window.limit or 0
        refused = await m.send(person["member_no"], "service.reply", {"text": "x"})
        assert refused["status"] == "undeliverable" and refused["reasons"] == ["window_closed"]
        detail = await m.detail(refused["id"])
        assert [(a["outcome"], a["errcode"]) for a in detail["attempts"]] == [("refused", 45047)]
        assert (await m.reach(person["member_no"]))["custom_sends_remaining"] == 0


async def test_43101_zeroes_the_credits_and_falls_back(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m)
        person = await m.person(follow=True)
        await m.accept(person, "TPL_CHECKIN")
        await m.accept(person, "TPL_CHECKIN")
        # The user revoked the credits in WeChat without a push reaching us.
        m.sim_app.state.sim.state.credits.pop((person["mp_openid"], "TPL_CHECKIN"))
        result = await m.send(person["member_no"], "checkin.reminder", DATA)
        assert result["channel"] == "template" and result["reasons"] == ["user_refused"]
        detail = await m.detail(result["id"])
        assert [(a["channel"], a["outcome"], a["errcode"]) for a in detail["attempts"]] == [
            ("subscribe", "refused", 43101), ("template", "sent", 0)]
        credit = (await m.reach(person["member_no"]))["credits"][0]
        assert credit["credits"] == 0 and credit["zeroed_reason"].startswith("43101")
        # The next send does not try the template again.
        again = await m.send(person["member_no"], "checkin.reminder", DATA)
        assert again["reasons"] == ["no_credit"]


async def test_idempotent_sends(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("service.reply", "transactional", [{"channel": "custom", "text": "{text}"}])
        person = await m.person(follow=True)
        asgi = m.app.state.send_fast_path
        first = await m.send(person["member_no"], "service.reply", {"text": "一次"}, key="same")
        assert (asgi.answered, asgi.handed_on) == (1, 0)  # the plain send, below FastAPI's routing
        replay = await m.send(person["member_no"], "service.reply", {"text": "一次"}, key="same")
        assert replay == first
        assert (asgi.answered, asgi.handed_on) == (1, 1)  # the repeat is the route's, with the same answer
        # Below the routing, the same checks: no token is the route's 401, a bad body its 422.
        body = {"member_no": person["member_no"], "purpose": "service.reply", "data": {"text": "x"}}
        anonymous = await m.client.post("/internal/messages", json=body, headers={"Idempotency-Key": "anon"})
        assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith("application/problem")
        invalid = await m.client.post("/internal/messages", json=body | {"member_no": 0},
                                      headers=m.headers(m.settings, caller="campaign") | {"Idempotency-Key": "bad"})
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "body.member_no"
        assert asgi.answered == 1
        other = await m.send(person["member_no"], "service.reply", {"text": "另一个"}, key="same", expect=422)
        assert other["type"].endswith("idempotency-key-reused")
        concurrent = await asyncio.gather(*(
            m.send(person["member_no"], "service.reply", {"text": "并发"}, key="race") for _ in range(5)))
        assert len({c["id"] for c in concurrent}) == 1
        assert len(await m.sent("custom")) == 2
        missing = await m.client.post("/internal/messages", json={"member_no": 1, "purpose": "service.reply"},
                                      headers=m.headers(m.settings, caller="campaign"))
        assert missing.status_code == 422
        # An integer beyond 64 bits in the data (the digest's JSON refuses it) is never a 500.
        huge = await m.client.post(
            "/internal/messages", json={"member_no": person["member_no"], "purpose": "service.reply",
                                        "data": {"text": 2**70}},
            headers=m.headers(m.settings, caller="campaign") | {"Idempotency-Key": "huge"})
        assert huge.status_code in (201, 422), huge.text


async def test_a_routing_batch_that_fails_is_routed_one_send_at_a_time(messaging_factory):
    from messaging_service.messages.service import request_hash

    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("service.reply", "transactional", [{"channel": "custom", "text": "{text}"}])
        free, taken = await m.person(follow=True), await m.person(follow=True)
        data = {"text": "一次"}
        router = m.runtime.extras["fast"].router
        assert m.runtime.driver_pool is not None
        async with m.runtime.driver_pool.acquire() as conn:
            # Another request's transaction has recorded the key "taken" and not yet committed: the batch's
            # insert waits for it, then fails on the unique key once it commits.
            holder = conn.transaction()
            await holder.start()
            held_id = await conn.fetchval(
                """INSERT INTO messages (member_no, purpose, message_class, data, status, source, idempotency_key,
                                         request_hash, requested_at)
                   VALUES ($1, 'service.reply', 'transactional', $2::jsonb, 'queued', 'internal:campaign', 'taken',
                           $3, now()) RETURNING id""",
                taken["member_no"], '{"text": "一次"}',
                request_hash({"member_no": taken["member_no"], "purpose": "service.reply", "data": data,
                              "send_at": None}))
            sends = asyncio.gather(m.send(free["member_no"], "service.reply", data, key="free"),
                                   m.send(taken["member_no"], "service.reply", data, key="taken"))
            await asyncio.sleep(0.5)
            await holder.commit()
        first, second = await sends
        assert router.retried >= 1  # the failed batch went again, one send at a time
        assert first["status"] in OK and first["channel"] == "custom"
        assert second["id"] == held_id  # the idempotent answer: the first request's message, never a second send
        assert [s["touser"] for s in await m.sent("custom")] == [free["oa_openid"]]
        # The ledger took one window send, for the message that was sent.
        windows = (await m.reach(free["member_no"]))["windows"]
        assert sum(w["used"] for w in windows) == 1
        assert sum(w["used"] for w in (await m.reach(taken["member_no"]))["windows"]) == 0


async def test_a_plain_send_announces_its_outcome_only(messaging_factory):
    async with messaging_factory() as m:
        now = at_shanghai(12)
        m.set_now(now)
        await m.purpose("service.reply", "transactional", [{"channel": "custom", "text": "{text}"}])
        person, stranger = await m.person(follow=True), await m.person()

        async def events(message_id: int) -> list[tuple[str, str | None]]:
            async with m.runtime.session_factory() as session:
                rows = await session.execute(text(
                    """SELECT type, envelope->'data'->>'message_class' FROM outbox
                       WHERE (envelope->'data'->>'message_id')::bigint = :id ORDER BY id"""), {"id": message_id})
            return [(r[0], r[1]) for r in rows]

        plain = await m.send(person["member_no"], "service.reply", {"text": "现在"})
        lost = await m.send(stranger["member_no"], "service.reply", {"text": "现在"})
        later = await m.send(person["member_no"], "service.reply", {"text": "稍后"}, send_at=now + timedelta(hours=1))
        assert plain["status"] in OK and lost["status"] == "undeliverable" and later["status"] == "held"
        # Routed when requested: one event, the outcome, standing for the request (with the message's class).
        assert await events(plain["id"]) == [("messaging.message.sent", "transactional")]
        assert await events(lost["id"]) == [("messaging.message.undeliverable", "transactional")]
        # A message that waits announces the request first.
        assert [t for t, _ in await events(later["id"])] == ["messaging.message.requested"]


async def test_daily_cap_quiet_hours_and_blocklist(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m, klass="marketing", name="broadcast.promo")
        await setup_transactional(m)
        person = await m.person(follow=True)
        sends = [await m.send(person["member_no"], "broadcast.promo", DATA) for _ in range(3)]
        assert [OK.get(s["status"], s["status"]) for s in sends] == ["sent", "sent", "undeliverable"]
        assert sends[2]["reason"] == "frequency_capped"
        assert OK[(await m.send(person["member_no"], "refund.notice", DATA))["status"]] == "sent"  # exempt
        assert (await m.reach(person["member_no"]))["cap"]["used"] == 2

        # 22:00 the same day: held until 08:00, then sent (a new Shanghai day, a fresh cap).
        m.set_now(at_shanghai(22))
        held = await m.send(person["member_no"], "broadcast.promo", DATA)
        assert held["status"] == "held" and held["reason"] == "quiet_hours_deferred"
        assert datetime.fromisoformat(held["hold_until"]) == at_shanghai(8, days=2)
        await m.tick()
        assert (await m.detail(held["id"]))["status"] == "held"
        m.set_now(at_shanghai(8, 1, days=2))
        await m.tick()
        done = await m.detail(held["id"])
        assert done["status"] in ("sent", "delivered") and done["channel"] == "template"

        # Past the maximum staleness the held send is dropped with its reason.
        m.set_now(at_shanghai(21, 45, days=3))
        stale = await m.send(person["member_no"], "broadcast.promo", DATA)
        assert stale["status"] == "held"
        m.set_now(at_shanghai(20, 0, days=4))
        await m.tick()
        dropped = await m.detail(stale["id"])
        assert dropped["status"] == "undeliverable" and dropped["reason"] == "quiet_hours_deferred"

        # Blocked: no marketing; a refund notice still goes.
        await m.block(person)
        m.set_now(at_shanghai(12, days=5))
        assert (await m.send(person["member_no"], "broadcast.promo", DATA))["reason"] == "blocked"
        assert OK[(await m.send(person["member_no"], "refund.notice", DATA))["status"]] == "sent"

        # Unfollowed: nothing on the service account.
        await m.act(person, "unfollow", {})
        gone = await m.send(person["member_no"], "refund.notice", DATA)
        assert gone["status"] == "undeliverable" and gone["reasons"] == ["not_following"]


async def setup_transactional(m):
    return await m.purpose("refund.notice", "transactional", [
        {"channel": "template", "template_id": "OA_NOTICE", "fields": {"thing1": "{title}", "thing2": "已退款"}},
    ])


async def test_transient_errors_retry_and_timeouts_are_never_resent(messaging_factory):
    async with messaging_factory(wechat_timeout_seconds=0.5) as m:
        m.set_now(at_shanghai(12))
        await setup(m)
        person = await m.person(follow=True)
        await m.accept(person, "TPL_CHECKIN")
        await m.sim.post("/sim/faults", json={"path": "/cgi-bin/message/subscribe/send", "errcode": -1, "times": 2})
        ok = await m.send(person["member_no"], "checkin.reminder", DATA)
        assert ok["channel"] == "subscribe" and ok["status"] in ("sent", "delivered")
        assert [a["outcome"] for a in (await m.detail(ok["id"]))["attempts"]] == ["retry", "retry", "sent"]

        # Exhausted retries: failed, the credit given back.
        await m.accept(person, "TPL_CHECKIN")
        await m.sim.post("/sim/faults", json={"path": "/cgi-bin/message/subscribe/send", "errcode": 45009,
                                              "times": 3})
        failed = await m.send(person["member_no"], "checkin.reminder", DATA)
        assert failed["status"] == "failed" and failed["reason"] == "rate_limited"
        assert (await m.reach(person["member_no"]))["credits"][0]["credits"] == 1

        # A timeout: unknown, no fallback, never resent (the credit stays used).
        await m.sim.post("/sim/faults", json={"path": "/cgi-bin/message/subscribe/send", "latency_ms": 2000})
        unknown = await m.send(person["member_no"], "checkin.reminder", DATA)
        assert unknown["status"] == "unknown" and unknown["reason"] == "unknown_outcome"
        assert unknown["channel"] == "subscribe"
        m.advance(120)
        await m.tick()
        assert (await m.detail(unknown["id"]))["status"] == "unknown"
        assert len(await m.sent("template")) == 0
        assert (await m.reach(person["member_no"]))["credits"][0]["credits"] == 0


async def test_crash_mid_call_is_settled_as_unknown(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("service.reply", "transactional", [{"channel": "custom", "text": "{text}"}])
        person = await m.person(follow=True)
        sent = await m.send(person["member_no"], "service.reply", {"text": "x"})
        async with m.runtime.session_factory() as session:
            # What a process killed between the reservation and WeChat's answer leaves behind.
            await session.execute(text("UPDATE messages SET status = 'sending', updated_at = now() - interval '1 hour'"
                                       " WHERE id = :id"), {"id": sent["id"]})
            await session.commit()
        await m.tick()
        assert (await m.detail(sent["id"]))["status"] == "unknown"
        assert len(await m.sent("custom")) == 1


async def test_the_accounts_daily_template_quota_is_rate_limited(messaging_factory, monkeypatch):
    from wechat_simulator import routes_messages

    monkeypatch.setattr(routes_messages, "TEMPLATE_DAILY_LIMIT", 1)
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m)
        await setup_transactional(m)
        person = await m.person(follow=True)
        assert OK[(await m.send(person["member_no"], "refund.notice", DATA))["status"]] == "sent"
        limited = await m.send(person["member_no"], "refund.notice", DATA)
        assert limited["status"] == "failed" and limited["reason"] == "rate_limited"
        attempts = (await m.detail(limited["id"]))["attempts"]
        assert [(a["outcome"], a["errcode"]) for a in attempts] == [("retry", 45009), ("retry", 45009),
                                                                     ("failed", 45009)]


async def test_a_typed_error_below_the_routing_is_problem_json(messaging_factory, monkeypatch):
    from messaging_service.messages import asgi
    from shared.errors import Conflict

    async def refuse(*_args, **_kwargs):
        raise Conflict("测试冲突。", slug="test-conflict")

    async with messaging_factory() as m:
        monkeypatch.setattr(asgi, "_send_fast", refuse)
        answer = await m.client.post(
            "/internal/messages", json={"member_no": 1, "purpose": "any.purpose", "data": {}},
            headers=m.headers(m.settings, caller="campaign") | {"Idempotency-Key": "typed"})
        assert answer.status_code == 409 and answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"].endswith("test-conflict")
