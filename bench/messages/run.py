"""Messaging sends end to end vs raw posts to the simulator, exactness of credits, broadcast pacing.

Starts the whole system as processes, logs in simulated people (members) who
follow the service account, then measures in one run:

1. raw aiohttp posts to the simulator's customer-service send endpoint (the
   baseline: what the simulator alone costs on these cores);
2. ``POST /internal/messages`` on messaging-service: request → idempotency →
   routing → ledger (a window send taken) → simulator → recorded, each send
   answered with where it ended;
3. 5,000 concurrent sends against 1,000 subscribe credits (100 members × 10
   accepts through real popup pushes): exactly 1,000 subscribe sends must be
   counted at the simulator, the rest fall back to a customer-service message
   or are undeliverable (``window_closed``);
4. a broadcast at a fixed rate: the achieved rate from the simulator's send
   times, and nobody twice.

Phases 1 and 2 use customer-service messages: each member sent one text
(5 sends within 48 h). Template and subscribe sends make WeChat push a delivery
result per send, and at a thousand sends a second those pushes (simulator →
gateway → broker → consumers) are most of the load: the broadcast phase shows
that path at its rate.

Targets (issue 12): ≥ 1,000 sends/s end to end; exactly 1,000; broadcast rate ±5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# A data directory of its own (PostgreSQL, broker logs): other benchmarks running at the same time use theirs.
os.environ.setdefault("QUNYUN_TEST_DATA_DIR", str(Path(__file__).resolve().parents[2] / ".data" / "bench-messages"))

import aiohttp
import asyncpg
import psutil
from common import REPO, CpuMeter, print_table, run_load

from shared.auth import StaffPrincipal, TokenCodec
from shared.settings import QunyunSettings, with_database
from shared.testing.infra import start_infra
from shared.testing.system import start_system

NOTICE = "课程:{{thing1.DATA}}\n说明:{{thing2.DATA}}"
CHECKIN = "活动名称:{{thing1.DATA}}\n打卡日期:{{date2.DATA}}"
DATA = {"title": "单词打卡", "date": "2026-12-01"}


def progress(text: str) -> None:
    """A line on stderr while the run goes on."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    """Percentile in ms of sorted seconds."""
    return values[min(int(len(values) * q), len(values) - 1)] * 1000 if values else 0.0


async def json_of(response: aiohttp.ClientResponse) -> object:
    body = await response.json(content_type=None)
    assert response.status < 400, (response.status, body)
    return body


async def people(session: aiohttp.ClientSession, sim: str, gateway: str, count: int) -> list[dict]:
    """Logged-in members who follow the service account."""
    gate = asyncio.Semaphore(8)

    async def one(_: int) -> dict:
        async with gate:
            async with session.post(f"{sim}/sim/people", json={}) as r:
                person = dict(await json_of(r))  # type: ignore[arg-type]
            async with session.post(f"{sim}/sim/people/{person['person_id']}/login-code") as r:
                code = (await json_of(r))["code"]  # type: ignore[index]
            async with session.post(f"{gateway}/mp/v1/session", json={"code": code}) as r:
                person["member_no"] = (await json_of(r))["member_no"]  # type: ignore[index]
            async with session.post(f"{sim}/sim/people/{person['person_id']}/follow", json={}) as r:
                await json_of(r)
            return person

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def wait_for(check, seconds: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.5)


async def scenario(system, infra, args) -> dict:  # type: ignore[no-untyped-def]
    sim, gateway, messaging = system.simulator, system.gateway, system.urls["messaging"]
    codec = TokenCodec(QunyunSettings(secret_key=system.env["QUNYUN_SECRET_KEY"]))
    staff = {"Authorization": "Bearer " + codec.issue_internal(
        caller="gateway", audience="messaging", ttl=3600,
        staff=StaffPrincipal(staff_id=1, username="bench", roles=frozenset({"admin"})))}
    internal = {"Authorization": "Bearer " + codec.issue_internal(caller="campaign", audience="messaging",
                                                                  ttl=3600)}
    connector = aiohttp.TCPConnector(limit=args.concurrency + 20)
    # No overall request timeout: under load, the contested phase's requests wait minutes for a connection.
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        for app, tid, title, content in (("oa", "OA_NOTICE", "课程通知", NOTICE),
                                         ("mp", "TPL_CHECKIN", "打卡提醒", CHECKIN)):
            async with session.put(f"{sim}/sim/templates/{app}/{tid}", json={"title": title, "content": content}) as r:
                await json_of(r)
        async with session.post(f"{messaging}/admin/v1/templates/sync", headers=staff) as r:
            await json_of(r)
        for name, channels in (
            ("bench.reply", [{"channel": "custom", "text": "{title}：今天还没打卡哦"}]),
            ("bench.notice", [{"channel": "template", "template_id": "OA_NOTICE",
                               "fields": {"thing1": "{title}", "thing2": "请打卡"}}]),
            ("bench.reminder", [
                {"channel": "subscribe", "template_id": "TPL_CHECKIN", "fields": {"thing1": "{title}",
                                                                                   "date2": "{date}"}},
                {"channel": "custom", "text": "{title}：今天还没打卡哦"}]),
        ):
            async with session.post(f"{messaging}/admin/v1/message-purposes", headers=staff,
                                    json={"name": name, "class": "transactional", "channels": channels}) as r:
                await json_of(r)

        windows = max(1, args.sends // 5)
        db = with_database(infra.server_uri, system.env["MESSAGING_DATABASE_NAME"])
        # Phases 1, 2 and 4: people generated directly (each followed and sent a text: 5 sends in 48 h), the
        # way the large broadcast's are; phase 3's credit holders are real members with real popup pushes.
        raw_members = await seeded(session, sim, db, windows, RAW_MEMBER_BASE)
        members = await seeded(session, sim, db, windows, SEND_MEMBER_BASE)
        orm_members = await seeded(session, sim, db, max(1, args.orm_sends // 5), ORM_MEMBER_BASE) \
            if args.orm_sends else []
        holders = await people(session, sim, gateway, args.credit_members)
        progress(f"{len(raw_members) + len(members)} members generated, {len(holders)} logged in and following")

        async def all_follow() -> bool:
            # Every follow known to messaging (under load its consumers lag behind the pushes).
            conn = await asyncpg.connect(db)
            try:
                following = await conn.fetchval("SELECT count(*) FROM openids WHERE app = 'oa' AND following")
            finally:
                await conn.close()
            return bool(following >= len(raw_members) + len(members) + len(orm_members) + len(holders))

        await wait_for(all_follow, seconds=600)
        await asyncio.sleep(2)
        progress("messaging knows every follow")

        # 1. Raw posts to the simulator's send endpoint (baseline).
        async with session.get(f"{sim}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": system.env.get("QUNYUN_OA_APPID") or QunyunSettings().oa_appid,
            "secret": (QunyunSettings().oa_secret.get_secret_value())}) as r:
            oa_token = (await json_of(r))["access_token"]  # type: ignore[index]
        raw_url = f"{sim}/cgi-bin/message/custom/send?access_token={oa_token}"

        async def raw(i: int) -> bool:
            body = {"touser": raw_members[i % len(raw_members)]["oa_openid"], "msgtype": "text",
                    "text": {"content": "单词打卡：今天还没打卡哦"}}
            async with session.post(raw_url, json=body) as response:
                return (await response.json(content_type=None)).get("errcode") == 0

        raw_result = await run_load(raw, args.sends, args.concurrency)
        progress(f"raw: {raw_result[0]:,.0f}/s")

        # 2. End to end through messaging.
        meter = CpuMeter({name: process.pid for name, process in system.processes.items()}
                         | {THIS_POSTGRES: await postmaster_pid(db)}
                         | ({"broker": infra.broker.process.pid} if infra.broker.process is not None else {}))

        async def send(i: int, purpose: str = "bench.reply", member_list: list[dict] = members) -> bool:
            body = {"member_no": member_list[i % len(member_list)]["member_no"], "purpose": purpose, "data": DATA}
            try:
                async with session.post(f"{messaging}/internal/messages", json=body,
                                        headers=internal | {"Idempotency-Key": uuid.uuid4().hex}) as response:
                    answer = await response.json(content_type=None)
                    return response.status == 201 and answer.get("status") in ("sent", "delivered")
            except aiohttp.ClientError:
                return False

        meter.start()
        e2e_result = await run_load(send, args.sends, args.concurrency)
        cpu = {name: seconds / args.sends for name, seconds in meter.stop().items()}
        progress(f"end to end: {e2e_result[0]:,.0f}/s, {e2e_result[2]} failed; CPU per send "
                 + ", ".join(f"{n} {c * 1e6:,.0f} µs" for n, c in sorted(cpu.items(), key=lambda kv: -kv[1])[:5]))

        # 2b. The same sends on the ORM path, in the same run (a send_at just past takes it: queued, routed in
        # the recording transaction, recorded by the ORM), as the baseline of the hot path's gain.
        orm_result, orm_cpu = None, {}
        if orm_members:
            async def send_orm(i: int) -> bool:
                body = {"member_no": orm_members[i % len(orm_members)]["member_no"], "purpose": "bench.reply",
                        "data": DATA, "send_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()}
                try:
                    async with session.post(f"{messaging}/internal/messages", json=body,
                                            headers=internal | {"Idempotency-Key": uuid.uuid4().hex}) as response:
                        answer = await response.json(content_type=None)
                        return response.status == 201 and answer.get("status") in ("sent", "delivered")
                except aiohttp.ClientError:  # a 500 closed the connection (the ORM pool timed out): a failure
                    return False

            meter.start()
            orm_result = await run_load(send_orm, args.orm_sends, args.concurrency)
            orm_cpu = {name: seconds / args.orm_sends for name, seconds in meter.stop().items()}
            progress(f"ORM path: {orm_result[0]:,.0f}/s, {orm_result[2]} failed; CPU per send "
                     + ", ".join(f"{n} {c * 1e6:,.0f} µs"
                                 for n, c in sorted(orm_cpu.items(), key=lambda kv: -kv[1])[:5]))

        # 3. Exactness: 1,000 credits (100 members × 10 accepts), 5,000 concurrent sends.
        for p in holders:
            for _ in range(args.credits_each):
                async with session.post(f"{sim}/sim/people/{p['person_id']}/subscribe-popup",
                                        json={"templates": {"TPL_CHECKIN": "accept"}}) as r:
                    await json_of(r)

        async def credits_known() -> bool:
            async with session.get(f"{messaging}/admin/v1/members/{holders[-1]['member_no']}/reach",
                                   headers=staff) as r:
                body = await json_of(r)
            return bool(body["credits"]) and body["credits"][0]["credits"] == args.credits_each  # type: ignore

        await wait_for(credits_known)
        progress("credits known")
        before = await subscribe_count(session, sim)
        channels: Counter[str] = Counter()

        async def contested(i: int) -> bool:
            body = {"member_no": holders[i % len(holders)]["member_no"], "purpose": "bench.reminder", "data": DATA}
            try:
                async with session.post(f"{messaging}/internal/messages", json=body,
                                        headers=internal | {"Idempotency-Key": uuid.uuid4().hex}) as response:
                    answer = await response.json(content_type=None)
                    channels[str(answer.get("channel"))] += 1
                    return response.status == 201
            except aiohttp.ClientError:  # the server dropped it (e.g. PostgreSQL out of connections): counted
                channels["dropped"] += 1
                return False

        started = time.perf_counter()
        await asyncio.gather(*(contested(i) for i in range(args.contested)))
        contested_seconds = time.perf_counter() - started
        # Counted once the simulator has settled: under load it still works through calls messaging gave up on
        # (unknown outcomes, never resent), and those count against the credits too.
        subscribe_sent, settled = -1, time.monotonic() + 60
        while time.monotonic() < settled:
            count = await subscribe_count(session, sim) - before
            if count == subscribe_sent:
                break
            subscribe_sent = count
            await asyncio.sleep(3)
        progress(f"contested: {subscribe_sent} subscribe sends, {dict(channels)}")
        credits_left = 0
        async with session.get(f"{sim}/sim/credits") as r:
            credits_left = sum(c["credits"] for c in await json_of(r))  # type: ignore[union-attr]

        # 4. A broadcast at a fixed rate.
        # The simulator's log is bounded: the broadcast's sends are those after its start.
        async with session.post(f"{sim}/sim/clock/advance", json={"seconds": 0}) as r:
            sent_after = (await json_of(r))["now"]  # type: ignore[index]
        audience = [p["member_no"] for p in members][: args.broadcast]
        async with session.post(f"{messaging}/admin/v1/broadcasts", headers=staff, json={
                "member_nos": audience, "purpose": "bench.notice", "data": DATA,
                "rate_per_second": args.rate}) as r:
            broadcast = await json_of(r)

        async def finished() -> bool:
            async with session.get(f"{messaging}/admin/v1/broadcasts/{broadcast['id']}", headers=staff) as r:
                return (await json_of(r))["state"] == "finished"  # type: ignore[index]

        await wait_for(finished, seconds=args.broadcast / args.rate * 3 + 60)
        async with session.get(f"{messaging}/admin/v1/broadcasts/{broadcast['id']}", headers=staff) as r:
            final = await json_of(r)
        async with session.get(f"{sim}/sim/sent", params={"kind": "template"}) as r:
            sends = [s for s in await json_of(r) if s["at"] >= sent_after]  # type: ignore[union-attr]
        times = sorted(s["at"] for s in sends)
        # The steady rate between the first and last 2 % (the edges are one batch's ramp).
        lo, hi = (times[len(times) // 50], times[-len(times) // 50 - 1]) if times else (0.0, 0.0)
        achieved = (len(times) * 0.96) / (hi - lo) if hi > lo else 0.0
        twice = sum(1 for n in Counter(s["touser"] for s in sends).values() if n > 1)
    return {"raw": raw_result, "e2e": e2e_result, "cpu": cpu, "orm": orm_result, "orm_cpu": orm_cpu,
            "subscribe_sent": subscribe_sent,
            "credits_left": credits_left, "channels": channels, "contested_seconds": contested_seconds,
            "broadcast": (len(sends), achieved, twice), "broadcast_state": final}


BIG_MEMBER_BASE = 5_000_000
RAW_MEMBER_BASE = 6_000_000
SEND_MEMBER_BASE = 7_000_000
ORM_MEMBER_BASE = 8_000_000


async def seeded(session: aiohttp.ClientSession, sim: str, db: str, count: int, base: int) -> list[dict]:
    """``count`` people who follow and sent a text, made in the simulator and in messaging's projections directly.

    Member numbers from ``base`` (identity never allocates that high in a benchmark).
    """
    people: list[dict] = []
    while len(people) < count:
        async with session.post(f"{sim}/sim/people/bulk", json={
                "count": min(20_000, count - len(people)), "follow": True, "texted": True}) as r:
            people += await json_of(r)  # type: ignore[arg-type]
    for i, person in enumerate(people):
        person["member_no"] = base + i
    now = datetime.now(UTC)
    conn = await asyncpg.connect(db)
    try:
        await conn.copy_records_to_table(
            "openids", columns=["openid", "app", "member_no", "following", "followed_at"],
            records=[(p["oa_openid"], "oa", p["member_no"], True, now) for p in people]
            + [(p["mp_openid"], "mp", p["member_no"], False, None) for p in people])
        await conn.copy_records_to_table(
            "cs_windows", columns=["openid", "app", "interaction", "opened_at", "expires_at", "lim", "used"],
            records=[(p["oa_openid"], "oa", "message", now, now + timedelta(hours=48), 5, 0) for p in people])
        await conn.execute("ANALYZE openids")
        await conn.execute("ANALYZE cs_windows")
    finally:
        await conn.close()
    return people


async def big_broadcast(system, infra, args) -> dict:  # type: ignore[no-untyped-def]
    """A broadcast to ``args.big_broadcast`` members at ``args.big_rate``: the rate per 10-s window, nobody twice.

    The members are generated directly: people in the simulator (following, each with a text's 48-hour window,
    no pushes) and their projections in messaging's database (openids, follows, windows), the way the other
    benchmarks seed theirs; identity and tagging never hear of them. The purpose is a marketing one (the daily
    cap counts each send) on the customer-service channel, so no delivery push per send loads the cores the
    broadcast runs on. The rate and the duplicates are counted at the simulator, by simulated second.
    """
    sim, messaging = system.simulator, system.urls["messaging"]
    codec = TokenCodec(QunyunSettings(secret_key=system.env["QUNYUN_SECRET_KEY"]))
    staff = {"Authorization": "Bearer " + codec.issue_internal(
        caller="gateway", audience="messaging", ttl=7200,
        staff=StaffPrincipal(staff_id=1, username="bench", roles=frozenset({"admin"})))}
    count = args.big_broadcast
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        db = with_database(infra.server_uri, system.env["MESSAGING_DATABASE_NAME"])
        people = await seeded(session, sim, db, count, BIG_MEMBER_BASE)
        members = [p["member_no"] for p in people]
        progress(f"{count:,} members generated (simulator and messaging's projections)")
        async with session.post(f"{messaging}/admin/v1/message-purposes", headers=staff, json={
                "name": "bench.big", "class": "marketing",
                "channels": [{"channel": "custom", "text": "{title}：本周新课开课啦"}]}) as r:
            await json_of(r)
        async with session.post(f"{sim}/sim/clock/advance", json={"seconds": 0}) as r:
            answer = await json_of(r)
        since = int(answer["now"])  # type: ignore[index]
        # Simulated seconds are wall-clock seconds plus the simulator's offset: the windows get their UTC times.
        offset = float(answer["offset"])  # type: ignore[index]
        meter = CpuMeter({name: process.pid for name, process in system.processes.items()}
                         | {THIS_POSTGRES: await postmaster_pid(db)})
        watch = asyncio.create_task(database_events(db))
        meter.start()
        started = time.perf_counter()
        async with session.post(f"{messaging}/admin/v1/broadcasts", headers=staff, json={
                "member_nos": members, "purpose": "bench.big", "data": DATA,
                "rate_per_second": args.big_rate}) as r:
            broadcast = await json_of(r)
        progress(f"broadcast {broadcast['id']} created in {time.perf_counter() - started:.1f} s")  # type: ignore[index]
        state = {}
        deadline = time.monotonic() + count / args.big_rate * 3 + 120
        while time.monotonic() < deadline:
            await asyncio.sleep(10)
            async with session.get(f"{messaging}/admin/v1/broadcasts/{broadcast['id']}", headers=staff) as r:
                state = await json_of(r)  # type: ignore[assignment]
            progress(f"broadcast: {state['sent']:,} sent, {state['remaining']:,} remaining, "  # type: ignore[index]
                     f"state {state['state']}")  # type: ignore[index]
            if state["state"] == "finished":  # type: ignore[index]
                break
        cpu = meter.stop()
        watch.cancel()
        events = await asyncio.gather(watch, return_exceptions=True)
        async with session.get(f"{sim}/sim/sent/summary", params={"kind": "custom", "since": since}) as r:
            summary = await json_of(r)
    per_second = [(sec, n) for sec, n in summary["per_second"]]  # type: ignore[index]
    windows = []
    if per_second:
        first, last = per_second[0][0], per_second[-1][0]
        counts = dict(per_second)
        for begin in range(first, last + 1, 10):
            sent = sum(counts.get(sec, 0) for sec in range(begin, min(begin + 10, last + 1)))
            windows.append((begin - first, min(10, last + 1 - begin), sent, begin - offset))
    return {"summary": summary, "windows": windows, "state": state, "cpu": cpu,
            "events": events[0] if isinstance(events[0], list) else []}


async def database_events(db: str) -> list[tuple[float, str]]:
    """What PostgreSQL did on its own during the broadcast, sampled twice a second until cancelled.

    (wall-clock time, what): each autovacuum / autoanalyze of a table of messaging's database as it was first seen
    running, each checkpoint as it started (``pg_stat_checkpointer``'s counters move when one starts). A dip in a
    window is then read against these times instead of guessed.
    """
    events: list[tuple[float, str]] = []
    conn = await asyncpg.connect(db)
    seen: set[tuple[int, str]] = set()
    checkpoints = None
    try:
        while True:
            rows = await conn.fetch("""SELECT pid, query FROM pg_stat_activity
                                       WHERE backend_type = 'autovacuum worker' AND datname = current_database()""")
            for pid, query in rows:
                if (pid, query) not in seen:
                    seen.add((pid, query))
                    events.append((time.time(), str(query).removeprefix("autovacuum: ").replace("public.", "")))
            counts = await conn.fetchrow("SELECT num_timed, num_requested FROM pg_stat_checkpointer")
            if checkpoints is not None and tuple(counts) != checkpoints:
                events.append((time.time(), "checkpoint started (" + ("timed" if counts[0] != checkpoints[0]
                                                                      else "requested: WAL") + ")"))
            checkpoints = tuple(counts)
            await asyncio.sleep(0.5)
    except asyncio.CancelledError:
        return events
    finally:
        await conn.close()


THIS_POSTGRES = "postgres (this run)"


async def postmaster_pid(db: str) -> int:
    """The pid of this run's PostgreSQL server (its backends are its children)."""
    conn = await asyncpg.connect(db)
    try:
        return psutil.Process(await conn.fetchval("SELECT pg_backend_pid()")).ppid()
    finally:
        await conn.close()


async def subscribe_count(session: aiohttp.ClientSession, sim: str) -> int:
    """Subscribe sends the simulator accepted (only the contested phase makes any; its log keeps 10,000)."""
    async with session.get(f"{sim}/sim/sent", params={"kind": "subscribe"}) as r:
        return len(await json_of(r))  # type: ignore[arg-type]


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=2000, help="per phase 1 and 2 (5 per member)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--orm-sends", type=int, default=1000, help="the same sends on the ORM path (0: skip)")
    parser.add_argument("--credit-members", type=int, default=100)
    parser.add_argument("--credits-each", type=int, default=10)
    parser.add_argument("--contested", type=int, default=5000)
    parser.add_argument("--broadcast", type=int, default=300, help="members (at most sends / 5)")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--messaging-workers", type=int, default=1, help="MESSAGING_WORKERS")
    parser.add_argument("--big-broadcast", type=int, default=100_000, help="members of the large broadcast (0: skip)")
    parser.add_argument("--big-rate", type=float, default=500)
    parser.add_argument("--skip-sends", action="store_true", help="only the large broadcast")
    parser.add_argument("--messaging-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of messaging's processes, e.g. MESSAGING_SEND_BELOW_ROUTING=false (the "
                             "baseline of the send below FastAPI's routing); repeatable")
    args = parser.parse_args()
    # A SIGTERM (timeout, Ctrl-C in another shell) still stops every process this run started.
    signal.signal(signal.SIGTERM, _interrupt)
    load_at_start = os.getloadavg()
    infra = start_infra(REPO)
    system = start_system(infra, {"MESSAGING_WORKERS": str(args.messaging_workers),
                                  "MESSAGING_QUIET_START": "00:00", "MESSAGING_QUIET_END": "00:00",
                                  "QUNYUN_LOG_LEVEL": "WARNING"}
                          | dict(item.split("=", 1) for item in args.messaging_env))
    try:
        result = None if args.skip_sends else asyncio.run(scenario(system, infra, args))
        big = asyncio.run(big_broadcast(system, infra, args)) if args.big_broadcast else None
    finally:
        system.stop()
        infra.stop()
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in load_at_start)}; "
          f"at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if result is not None:
        report(args, result)
    if big is not None:
        report_big(args, big)


def report_big(args, big: dict) -> None:  # type: ignore[no-untyped-def]
    """The large broadcast: the rate per 10-s window and the duplicates, at the simulator."""
    rows = []
    steady = big["windows"][1:-1] if len(big["windows"]) > 2 else big["windows"]
    for offset, seconds, sent, wall in big["windows"]:
        rate = sent / seconds if seconds else 0.0
        # PostgreSQL's own work that started in this window (or in the 2 s before it: a dip trails its cause).
        during = [what for at, what in big["events"] if wall - 2 <= at < wall + seconds - 2]
        rows.append((f"{offset:>4}–{offset + seconds:<4}", time.strftime("%H:%M:%S", time.gmtime(wall)), f"{sent:,}",
                     f"{rate:,.1f}", f"{(rate / args.big_rate - 1) * 100:+.1f} %", "; ".join(during)))
    print_table(f"broadcast of {args.big_broadcast:,} at {args.big_rate:,.0f}/s (custom channel), per 10-s window "
                "at the simulator", rows, ("seconds", "UTC", "sent", "per s", "vs target", "PostgreSQL started"))
    within = sum(1 for _, seconds, sent, _ in steady if abs(sent / seconds / args.big_rate - 1) <= 0.05)
    summary, state = big["summary"], big["state"]
    per_second = summary["per_second"]
    if per_second:
        # The whole run: every send between the first and the last simulated second.
        seconds = per_second[-1][0] - per_second[0][0] + 1
        rate = summary["total"] / seconds
        print(f"whole run: {summary['total']:,} sends in {seconds:,} s = {rate:,.1f}/s "
              f"({(rate / args.big_rate - 1) * 100:+.1f} % of {args.big_rate:,.0f}/s)")
    print(f"sent {summary['total']:,} to {summary['recipients']:,} people, {summary['twice']} twice; "
          f"{within} of {len(steady)} inner windows within ±5 %; messaging says {state.get('state')}, "
          f"sent {state.get('sent')}, undeliverable {state.get('undeliverable')}, remaining {state.get('remaining')}")
    sent = max(1, summary["total"])
    print("CPU per broadcast send (µs; postgres: every PostgreSQL process on the machine, other runs' included): "
          + ", ".join(
        f"{name} {seconds / sent * 1e6:,.0f}" for name, seconds in sorted(big["cpu"].items(), key=lambda kv: -kv[1])))


def report(args, result: dict) -> None:  # type: ignore[no-untyped-def]
    """The tables of the sends, the contested credits and the small broadcast."""
    rows = []
    phases = [("raw aiohttp posts to the simulator (custom send)", result["raw"]),
              ("POST /internal/messages end to end, hot path (custom channel)", result["e2e"])]
    if result["orm"] is not None:
        phases.append((f"the same on the ORM path ({args.orm_sends:,} sends, send_at just past)", result["orm"]))
    for label, (rate, lat, failed) in phases:
        rows.append((label, f"{rate:,.0f}", f"{pct(lat, 0.5):.1f}", f"{pct(lat, 0.99):.1f}", str(failed)))
    print_table(f"{args.sends:,} sends, {args.concurrency} concurrent, messaging workers {args.messaging_workers}",
                rows, ("path", "sends/s", "p50 ms", "p99 ms", "failed"))
    orm_cpu = result["orm_cpu"]
    print_table("CPU per end-to-end send (this run's processes; postgres: every PostgreSQL process on the machine, "
                "other runs' included)",
                [(n, f"{s * 1e6:,.0f}", f"{orm_cpu.get(n, 0) * 1e6:,.0f}" if orm_cpu else "-")
                 for n, s in sorted(result["cpu"].items(), key=lambda kv: -kv[1])],
                ("process", "µs CPU per send, hot path", "ORM path"))
    # The issue's budget: on two cores 1,000 sends/s leave ≈ 2 ms of CPU per send for every process of the run.
    ours = sum(s for n, s in result["cpu"].items() if n != "postgres")
    print(f"this run's processes together (machine-wide postgres line left out): {ours * 1e6:,.0f} µs CPU per send "
          f"(a ceiling of {2 / ours if ours else 0:,.0f} sends/s on two idle cores)")
    credits = args.credit_members * args.credits_each
    print(f"\n{args.contested:,} concurrent sends against {credits:,} credits: {result['subscribe_sent']:,} subscribe "
          f"sends counted at the simulator (must be exactly {credits:,}); simulator credits left "
          f"{result['credits_left']}; channels {dict(result['channels'])}; {result['contested_seconds']:.1f} s")
    sent, achieved, twice = result["broadcast"]
    final = result["broadcast_state"]
    print(f"small broadcast as messaging saw it: sent {final['sent']}, unknown (WeChat call timed out) "
          f"{final['unknown']}, failed {final['failed']}, undeliverable {final['undeliverable']}")
    print(f"broadcast of {args.broadcast:,} at {args.rate:,.0f}/s: {sent:,} sent, steady rate {achieved:,.1f}/s "
          f"({(achieved / args.rate - 1) * 100:+.1f} %), {twice} members twice")


if __name__ == "__main__":
    main()
