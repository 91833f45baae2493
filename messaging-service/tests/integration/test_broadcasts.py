"""Slice 4: broadcasts to a snapshot of members: forecast, throttling, pause / resume / cancel, crash safety."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter

import orjson
from sqlalchemy import text

from messaging_service.broadcasts import runner

from .test_ledger_sending import DATA, at_shanghai, setup


async def wait_state(m, broadcast_id: int, *states: str, seconds: float = 30) -> dict:
    for _ in range(int(seconds * 10)):
        got = (await m.client.get(f"/admin/v1/broadcasts/{broadcast_id}", headers=m.staff())).json()
        if got["state"] in states:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(got)


async def audience(m, n_credit: int, n_follow: int, n_none: int, n_blocked: int) -> list[dict]:
    people = []
    for _ in range(n_credit):
        p = await m.person()
        await m.accept(p, "TPL_CHECKIN")
        people.append(p)
    people += [await m.person(follow=True) for _ in range(n_follow)]
    people += [await m.person() for _ in range(n_none)]
    for _ in range(n_blocked):
        p = await m.person(follow=True)
        await m.block(p)
        people.append(p)
    return people


async def test_forecast_then_broadcast_with_pause_resume_and_report(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m, klass="marketing", name="broadcast.promo")
        people = await audience(m, n_credit=4, n_follow=5, n_none=3, n_blocked=2)
        body = {"member_nos": [p["member_no"] for p in people], "purpose": "broadcast.promo", "data": DATA,
                "rate_per_second": 20}
        preview = await m.client.post("/admin/v1/broadcasts/preview", json=body, headers=m.staff())
        assert preview.status_code == 200, preview.text
        assert preview.json() == {"total": 14, "by_channel": {"subscribe": 4, "template": 5},
                                  "undeliverable": {"no_credit": 3, "blocked": 2}}
        assert await m.sent() == []  # the forecast sends nothing

        created = await m.client.post("/admin/v1/broadcasts", json=body, headers=m.staff())
        assert created.status_code == 201, created.text
        broadcast = created.json()
        assert broadcast["total"] == 14 and broadcast["state"] == "running"
        paused = await m.client.post(f"/admin/v1/broadcasts/{broadcast['id']}/pause", headers=m.staff())
        assert paused.json()["state"] == "paused"
        await m.tick()
        assert (await m.client.get(f"/admin/v1/broadcasts/{broadcast['id']}", headers=m.staff())).json()[
            "remaining"] == 14
        assert (await m.client.post(f"/admin/v1/broadcasts/{broadcast['id']}/resume",
                                    headers=m.staff())).json()["state"] == "running"
        await m.tick()
        done = await wait_state(m, broadcast["id"], "finished")
        assert (done["sent"], done["fell_back"], done["remaining"]) == (9, 5, 0)
        assert done["undeliverable"] == {"no_credit": 3, "blocked": 2}
        sent = await m.sent()
        assert len(sent) == 9 and len({s["touser"] for s in sent}) == 9
        report = await m.client.get(f"/admin/v1/broadcasts/{broadcast['id']}/report.csv", headers=m.staff())
        assert report.text.startswith("\ufeff")  # UTF-8 BOM: Excel and WPS open it right
        lines = report.text.lstrip("\ufeff").strip().splitlines()
        assert lines[0] == "member_no,message_id,status,channel,reason" and len(lines) == 15
        again = await m.client.post(f"/admin/v1/broadcasts/{broadcast['id']}/cancel", headers=m.staff())
        assert again.status_code == 409


async def test_a_crashed_broadcast_resumes_and_writes_to_nobody_twice(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m, klass="transactional", name="notice.all")
        people = [await m.person(follow=True) for _ in range(30)]
        created = await m.client.post("/admin/v1/broadcasts", headers=m.staff(), json={
            "member_nos": [p["member_no"] for p in people], "purpose": "notice.all", "data": DATA,
            "rate_per_second": 100})
        broadcast_id = created.json()["id"]
        # The process dies mid-way: one batch claimed (messages created), one send cut mid-call, lease held.
        await runner._lease(m.runtime, broadcast_id, first=True)
        claimed = [message_id for message_id, _ in await runner._claim(m.runtime, broadcast_id, 10)]
        dispatcher = m.runtime.extras["dispatcher"]
        for message_id in claimed[:4]:
            await dispatcher.dispatch(message_id)
        async with m.runtime.session_factory() as session:
            await session.execute(text("""UPDATE messages SET status = 'sending', updated_at = now() - interval '1 hour'
                                          WHERE id = :id"""), {"id": claimed[4]})
            await session.execute(text("UPDATE broadcasts SET lease_until = now() - interval '1 second'"))
            await session.commit()
        # Restart: the scheduler settles the cut send as unknown and resumes the rest.
        await m.tick()
        done = await wait_state(m, broadcast_id, "finished")
        sent = await m.sent()
        per_person = Counter(s["touser"] for s in sent)
        assert max(per_person.values()) == 1  # nobody twice
        assert len(sent) == 29 and done["unknown"] == 1 and done["sent"] == 29  # nobody skipped
        async with m.runtime.session_factory() as session:
            count = await session.scalar(text("SELECT count(*) FROM messages WHERE broadcast_id = :b"),
                                         {"b": broadcast_id})
        assert count == 30


async def test_messages_claimed_before_a_pause_wait_for_the_resume(messaging_factory):
    from messaging_service import scheduler

    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m, klass="transactional", name="notice.paused")
        people = [await m.person(follow=True) for _ in range(6)]
        created = await m.client.post("/admin/v1/broadcasts", headers=m.staff(), json={
            "member_nos": [p["member_no"] for p in people], "purpose": "notice.paused", "data": DATA,
            "rate_per_second": 100})
        broadcast_id = created.json()["id"]
        # The runner had claimed a batch ahead of sending when staff paused.
        await runner._lease(m.runtime, broadcast_id, first=True)
        claimed = [message_id for message_id, _ in await runner._claim(m.runtime, broadcast_id, 4)]
        paused = await m.client.post(f"/admin/v1/broadcasts/{broadcast_id}/pause", headers=m.staff())
        assert paused.json()["state"] == "paused"
        async with m.runtime.session_factory() as session:  # that runner has stopped: its lease runs out
            await session.execute(text("UPDATE broadcasts SET lease_until = now() - interval '1 second'"))
            await session.commit()
        # Long past the crash sweep's 30 s, the paused broadcast's queued messages are not picked up.
        m.advance(600)
        assert not set(claimed) & set(await scheduler.due_messages(m.runtime))
        await m.tick()
        assert await m.sent() == []

        assert (await m.client.post(f"/admin/v1/broadcasts/{broadcast_id}/resume",
                                    headers=m.staff())).json()["state"] == "running"
        await m.tick()
        done = await wait_state(m, broadcast_id, "finished")
        sent = await m.sent()
        assert done["remaining"] == 0 and len(sent) == 6 and len({s["touser"] for s in sent}) == 6


async def test_a_new_broadcast_keeps_its_rate_from_its_first_seconds(messaging_factory):
    """Statistics taken before the snapshot existed must not stall the first claims (they did for 30-60 s)."""
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await setup(m, klass="transactional", name="notice.first_seconds")
        rate, seconds, total = 100, 5.0, 60_000
        async with m.runtime.session_factory() as session:
            # The table analysed while it held an earlier, small broadcast and none of this one (as autovacuum leaves
            # it until it runs again): the planner expects about one recipient of the new broadcast.
            earlier = await session.scalar(text(
                """INSERT INTO broadcasts (purpose, data, rate_per_second, state, total, started_at)
                   VALUES ('notice.first_seconds', '{}', 10, 'finished', 200, now()) RETURNING id"""))
            await session.execute(text(
                """INSERT INTO broadcast_recipients (broadcast_id, seq, member_no, message_id)
                   SELECT :b, g, 80000000 + g, g FROM generate_series(0, 199) AS g"""), {"b": earlier})
            await session.execute(text("ANALYZE broadcast_recipients"))
            broadcast_id = await session.scalar(text(
                """INSERT INTO broadcasts (purpose, data, rate_per_second, state, total, started_at)
                   VALUES ('notice.first_seconds', CAST(:data AS jsonb), :rate, 'running', :total, now())
                   RETURNING id"""), {"data": orjson.dumps(DATA).decode(), "rate": rate, "total": total})
            # Members nobody can reach: each is routed (undeliverable) without a WeChat call.
            await session.execute(text(
                """INSERT INTO broadcast_recipients (broadcast_id, seq, member_no)
                   SELECT :b, g, 90000000 + g FROM generate_series(0, :n - 1) AS g"""), {"b": broadcast_id, "n": total})
            await session.commit()
        started = time.monotonic()
        task = asyncio.create_task(runner.run_one(m.runtime, broadcast_id))
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        async with m.runtime.session_factory() as session:
            routed = await session.scalar(text(
                "SELECT count(*) FROM messages WHERE broadcast_id = :b AND status <> 'queued'"), {"b": broadcast_id})
            await session.execute(text("UPDATE broadcasts SET state = 'cancelled' WHERE id = :b"), {"b": broadcast_id})
            await session.commit()
        await asyncio.wait_for(task, timeout=60)
        # 100/s over the first 5 s is 500 (the bucket's first half-second burst aside); before the fix the first
        # claim alone took 10-30 s and none was routed. Half leaves room for a machine under a load of 20 (the
        # benchmark measures the pacing itself), not for a stall.
        assert routed >= rate * elapsed * 0.5, (routed, elapsed)
        assert routed <= rate * (elapsed + 0.5) + 1 + 100  # at most the bucket's burst and one claim in flight
        async with m.runtime.session_factory() as session:
            twice = await session.scalar(text(
                """SELECT count(*) FROM (SELECT member_no FROM messages WHERE broadcast_id = :b
                   GROUP BY member_no HAVING count(*) > 1) d"""), {"b": broadcast_id})
            unlinked = await session.scalar(text(
                """SELECT count(*) FROM messages m LEFT JOIN broadcast_recipients r
                   ON r.broadcast_id = m.broadcast_id AND r.message_id = m.id
                   WHERE m.broadcast_id = :b AND (r.seq IS NULL OR m.idempotency_key <> 'b' || :b || ':' || r.seq
                                                  OR r.member_no <> m.member_no)"""), {"b": broadcast_id})
        assert twice == 0 and unlinked == 0


async def reachable_broadcast(m, purpose: str, rate: float, total: int) -> int:
    """A running broadcast to ``total`` simulated followers who each texted (a customer-service window open).

    People made in bulk in the simulator, messaging's projections (follows, windows) written directly, the way
    the benchmark seeds them: each recipient's send is a real customer-service call to the simulator.
    """
    people = (await m.sim.post("/sim/people/bulk", json={"count": total, "follow": True, "texted": True})).json()
    now = m.runtime.extras["clock"].now()  # the test's clock: the windows are open at its noon
    async with m.runtime.session_factory() as session:
        # The projections the pushes would have written (follows and the texts' 48-hour windows), in bulk.
        await session.execute(text(
            """INSERT INTO openids (openid, app, member_no, following, followed_at)
               SELECT o, 'oa', 70000000 + n, true, :now
               FROM unnest(CAST(:openids AS text[])) WITH ORDINALITY AS t(o, n)"""),
            {"openids": [p["oa_openid"] for p in people], "now": now})
        await session.execute(text(
            """INSERT INTO cs_windows (openid, app, interaction, opened_at, expires_at, lim, used)
               SELECT o, 'oa', 'message', CAST(:now AS timestamptz),
                      CAST(:now AS timestamptz) + interval '48 hours', 5, 0
               FROM unnest(CAST(:openids AS text[])) AS o"""),
            {"openids": [p["oa_openid"] for p in people], "now": now})
        broadcast_id = await session.scalar(text(
            """INSERT INTO broadcasts (purpose, data, rate_per_second, state, total, started_at)
               VALUES (:purpose, CAST(:data AS jsonb), :rate, 'running', :total, now())
               RETURNING id"""),
            {"purpose": purpose, "data": orjson.dumps(DATA).decode(), "rate": rate, "total": total})
        await session.execute(text(
            """INSERT INTO broadcast_recipients (broadcast_id, seq, member_no)
               SELECT :b, g, 70000001 + g FROM generate_series(0, :n - 1) AS g"""), {"b": broadcast_id, "n": total})
        await session.commit()
    return int(broadcast_id)


async def test_a_broadcast_keeps_a_seconds_worth_of_sends_under_way(messaging_factory):
    """Slow sends (WeChat slow, or commits slowed by a checkpoint) must not hold the rate back below a second each.

    At 200/s the runner keeps up to 200 sends under way; with the fixed 128 it had, a send taking over 0.64 s held
    the rate below 200/s. Counted at the simulator, as calls that arrived and have not been answered yet: each takes
    3 s, so after a second at the rate 200 are under way (a loaded machine starting them more slowly still passes
    128 within the 3 s), and the old runner never exceeded 128.
    """
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("notice.slow_wechat", "transactional",
                        [{"channel": "custom", "text": "{title}：今天还没打卡哦"}])
        rate, total = 200, 800
        broadcast_id = await reachable_broadcast(m, "notice.slow_wechat", rate, total)
        path = "/cgi-bin/message/custom/send"
        await m.sim.post("/sim/faults", json={"path": path, "latency_ms": 3000, "times": total})
        state = m.sim_app.state.sim.state
        arrived_before, answered_before = state.counters.api_calls[path], len(state.sent)
        task = asyncio.create_task(runner.run_one(m.runtime, broadcast_id))
        under_way = 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            # Arrived (counted before the fault's wait) minus answered (recorded after it).
            under_way = max(under_way, (state.counters.api_calls[path] - arrived_before)
                            - (len(state.sent) - answered_before))
            await asyncio.sleep(0.05)
        async with m.runtime.session_factory() as session:
            await session.execute(text("UPDATE broadcasts SET state = 'cancelled' WHERE id = :b"), {"b": broadcast_id})
            await session.commit()
        await asyncio.wait_for(task, timeout=60)
        assert under_way > 150, under_way
        sent = await m.sent(kind="custom")
        assert len({s["touser"] for s in sent}) == len(sent)  # nobody twice


async def test_one_slow_claim_does_not_stop_the_sends(messaging_factory, monkeypatch):
    """A claim slower than a batch's second (a loaded core, a checkpoint) is covered by the batch claimed before it.

    With one batch claimed ahead, the sends stopped for the claim's excess (0.9 s here: no call arrived at the
    simulator for that long); with two ahead the next batch is already there.
    """
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("notice.slow_claim", "transactional",
                        [{"channel": "custom", "text": "{title}：今天还没打卡哦"}])
        rate, total = 100, 600
        broadcast_id = await reachable_broadcast(m, "notice.slow_claim", rate, total)
        real_claim, claims = runner._claim, itertools.count()

        async def one_slow_claim(runtime, broadcast, size):
            # The fourth claim (the sends in their steady state by then) takes 1.9 s, the batch it feeds lasts 1 s.
            if next(claims) == 3:
                await asyncio.sleep(1.9)
            return await real_claim(runtime, broadcast, size)

        monkeypatch.setattr(runner, "_claim", one_slow_claim)
        await asyncio.wait_for(runner.run_one(m.runtime, broadcast_id), timeout=60)
        arrivals = sorted(s["at"] for s in await m.sent(kind="custom"))
        assert len(arrivals) == total
        gap = max(b - a for a, b in itertools.pairwise(arrivals))
        # Without the slow claim the largest gap is a few tens of ms; half a second leaves room for a loaded machine.
        assert gap < 0.5, gap
