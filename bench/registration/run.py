"""Registrations for a free period through the gateway vs directly, and the capacity race.

Starts PostgreSQL, a broker, campaign-service and the gateway (one uvicorn
worker each). Staff create a series and open free periods; distinct members
register at a fixed concurrency through the gateway (member tokens) and
directly on campaign-service (internal tokens) — the baseline of the same
run; a floor row times campaign's cheapest member endpoint the same way.
Then, several times, 500 members race for 100 places: exactly 100 must win
every time.

Paid periods too: the WeChat simulator and identity-service run beside them,
members sign in through the gateway (``POST /mp/v1/session``), and each paid
registration reserves the place, writes its order and then places it at
WeChat Pay (the simulator) for its prepay_id; rows through the gateway and
directly, and a race of 300 members for 50 paid places.

Beside the rates it prints the CPU time campaign-service and the gateway
spent per registration (user + system, from the kernel's counters): unlike
the rates, that figure barely moves when other work shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import psutil
from common import REPO, print_table

from shared.auth import MemberPrincipal, StaffPrincipal, TokenCodec
from shared.settings import QunyunSettings
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra
from shared.testing.system import System, system_env


def period_body(title: str, capacity: int, fee_fen: int = 0) -> dict:
    """A period open for registration now (free unless ``fee_fen``)."""
    now = datetime.now(UTC)
    return {"title": title, "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=7)).isoformat(),
            "start_date": (date.today() + timedelta(days=8)).isoformat(),
            "end_date": (date.today() + timedelta(days=20)).isoformat(), "capacity": capacity, "fee_fen": fee_fen}


async def open_period(
    session: aiohttp.ClientSession, base: str, staff: dict, series_id: int, capacity: int, fee_fen: int = 0
) -> int:
    """Create and open a period; returns its id."""
    async with session.post(f"{base}/admin/v1/series/{series_id}/periods",
                            json=period_body("bench", capacity, fee_fen), headers=staff) as response:
        assert response.status == 201, await response.text()
        period_id = int((await response.json())["id"])
    async with session.post(f"{base}/admin/v1/periods/{period_id}/state", json={"state": "open"},
                            headers=staff) as response:
        assert response.status == 200, await response.text()
    return period_id


async def register_all(
    url: str, headers: list[dict], concurrency: int, method: str = "POST"
) -> tuple[float, list[float], dict[int, int]]:
    """One registration per header set; returns (per second, sorted latencies, status counts)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = list(reversed(headers))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            while pending:
                h = pending.pop()
                started = time.perf_counter()
                body = {} if method == "POST" else None
                async with session.request(method, url, json=body, headers=h) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(headers) / elapsed, sorted(latencies), statuses


def pct(values: list[float], q: float) -> float:
    """Percentile in ms of sorted seconds."""
    return values[min(int(len(values) * q), len(values) - 1)] * 1000


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds of each process so far."""
    out = {}
    for name, pid in pids.items():
        times = psutil.Process(pid).cpu_times()
        out[name] = times.user + times.system
    return out


async def measured(pids: dict[str, int], run) -> tuple[tuple[float, list[float], dict[int, int]], dict[str, float]]:
    """Run a load and return its result and the CPU ms each process spent per request."""
    before = cpu_seconds(pids)
    result = await run
    after = cpu_seconds(pids)
    count = sum(result[2].values()) or 1
    return result, {name: (after[name] - before[name]) * 1000 / count for name in pids}


async def sign_in(sim: str, gateway: str, count: int) -> list[tuple[int, str]]:
    """``count`` simulated people signed in to the mini-program: (member_no, member token) each."""
    out: list[tuple[int, str]] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20)) as session:
        async def one(_: int) -> None:
            async with session.post(f"{sim}/sim/people", json={"with_unionid": True}) as response:
                person = (await response.json())["person_id"]
            async with session.post(f"{sim}/sim/people/{person}/login-code") as response:
                code = (await response.json())["code"]
            async with session.post(f"{gateway}/mp/v1/session", json={"code": code}) as response:
                assert response.status == 200, await response.text()
                body = await response.json()
            out.append((int(body["member_no"]), body["token"]))

        for start in range(0, count, 100):
            await asyncio.gather(*(one(i) for i in range(start, min(start + 100, count))))
    return out


async def scenario(
    campaign: str, gateway: str, sim: str, codec: TokenCodec, args, pids: dict[str, int]
) -> tuple[list, list[int], list[int]]:
    staff = {"Authorization": "Bearer " + codec.issue_internal(
        caller="gateway", audience="campaign", staff=StaffPrincipal(1, "bench", frozenset({"admin"})), ttl=3600)}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{campaign}/admin/v1/series", json={"title": "bench series"}, headers=staff) as r:
            series_id = int((await r.json())["id"])
        direct_period = await open_period(session, campaign, staff, series_id, args.count * 2)
        gateway_period = await open_period(session, campaign, staff, series_id, args.count * 2)
        race_periods = [await open_period(session, campaign, staff, series_id, 100) for _ in range(args.races)]
        paid_direct = await open_period(session, campaign, staff, series_id, args.paid_count * 2, 9900)
        paid_through = await open_period(session, campaign, staff, series_id, args.paid_count * 2, 9900)
        paid_race = await open_period(session, campaign, staff, series_id, 50, 4900)
    members = await sign_in(sim, gateway, args.paid_count * 2 + 300)

    def internal(member: int) -> dict:
        return {"Authorization": "Bearer " + codec.issue_internal(
            caller="gateway", audience="campaign", member=MemberPrincipal(member), ttl=3600)}

    def member_token(member: int) -> dict:
        return {"Authorization": "Bearer " + codec.issue_member(member, session_id="bench", ttl=3600)}

    # The floor: campaign's cheapest member endpoint, same tokens, middleware and concurrency.
    floor = await measured(pids, register_all(f"{campaign}/mp/v1/server-time",
                                              [internal(400_000 + i) for i in range(args.count)], args.concurrency,
                                              method="GET"))
    floor_through = await measured(pids, register_all(f"{gateway}/mp/v1/server-time",
                                                      [member_token(500_000 + i) for i in range(args.count)],
                                                      args.concurrency, method="GET"))
    direct = await measured(pids, register_all(f"{campaign}/mp/v1/periods/{direct_period}/registrations",
                                               [internal(100_000 + i) for i in range(args.count)], args.concurrency))
    through = await measured(pids, register_all(f"{gateway}/mp/v1/periods/{gateway_period}/registrations",
                                                [member_token(200_000 + i) for i in range(args.count)],
                                                args.concurrency))
    paid_rows = []
    if args.paid_count:
        direct_members = members[:args.paid_count]
        through_members = members[args.paid_count:args.paid_count * 2]
        paid_rows = [
            ("paid: direct (campaign-service)", await measured(pids, register_all(
                f"{campaign}/mp/v1/periods/{paid_direct}/registrations",
                [internal(no) for no, _ in direct_members], args.concurrency))),
            ("paid: through the gateway", await measured(pids, register_all(
                f"{gateway}/mp/v1/periods/{paid_through}/registrations",
                [{"Authorization": f"Bearer {token}"} for _, token in through_members], args.concurrency))),
        ]
    rows = [(label, f"{rate:,.0f}", f"{pct(lat, 0.5):.1f}", f"{pct(lat, 0.99):.1f}",
             f"{cpu['campaign']:.2f}", f"{cpu['gateway']:.2f}", str(st))
            for label, ((rate, lat, st), cpu) in (("floor: GET /mp/v1/server-time, direct", floor),
                                                   ("floor: GET /mp/v1/server-time, through the gateway",
                                                    floor_through),
                                                   ("direct (campaign-service)", direct),
                                                   ("through the gateway", through), *paid_rows)]
    winners = []
    async with aiohttp.ClientSession() as session:
        for n, period in enumerate(race_periods):
            _, _, statuses = await register_all(f"{gateway}/mp/v1/periods/{period}/registrations",
                                                [member_token(300_000 + n * 1000 + i) for i in range(500)], 500)
            # The places taken as campaign counts them: a client that gave up (a gateway timeout on
            # an overloaded machine) may still have won, so 201s alone can undercount.
            async with session.get(f"{campaign}/admin/v1/periods/{period}", headers=staff) as response:
                taken = int((await response.json())["taken"])
            winners.append(statuses.get(201, 0))
            print(f"race {n + 1}: statuses {dict(sorted(statuses.items()))}, places taken {taken} of 100",
                  flush=True)
        racers = members[args.paid_count * 2:]
        _, _, statuses = await register_all(f"{gateway}/mp/v1/periods/{paid_race}/registrations",
                                            [{"Authorization": f"Bearer {token}"} for _, token in racers], 300)
        async with session.get(f"{campaign}/admin/v1/periods/{paid_race}", headers=staff) as response:
            taken = int((await response.json())["taken"])
        paid_winners = [statuses.get(201, 0)]
        print(f"paid race: statuses {dict(sorted(statuses.items()))}, places taken {taken} of 50", flush=True)
    return rows, winners, paid_winners


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=3000, help="members per free row")
    parser.add_argument("--paid-count", type=int, default=1000, help="members per paid row (0: no paid rows)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--races", type=int, default=5, help="runs of the free 500-for-100 race")
    args = parser.parse_args()
    infra = start_infra(REPO)
    names = ("simulator", "identity", "campaign", "gateway")
    ports = {name: free_port() for name in names}
    namespace = f"bench{secrets.token_hex(3)}."
    env = system_env(infra, ports, namespace) | {"QUNYUN_LOG_LEVEL": "WARNING", "CAMPAIGN_DB_POOL_SIZE": "20"}
    databases = {name: asyncio.run(migrated_database(infra, name)) for name in names if name != "simulator"}
    for name, database in databases.items():
        env[f"{name.upper()}_DATABASE_NAME"] = database
    logs = infra.data_dir / "logs" / "bench-registration"
    logs.mkdir(parents=True, exist_ok=True)
    system = System(env=env, urls={n: f"http://127.0.0.1:{p}" for n, p in ports.items()}, logs=logs,
                    admin_username="", admin_password="")
    try:
        for name in names:
            system.start(name)
        for name in names:
            system.wait_healthy(name, path="/sim/healthz" if name == "simulator" else "/healthz")
        pids = {"campaign": system.processes["campaign"].pid, "gateway": system.processes["gateway"].pid}
        load = os.getloadavg()[0]
        rows, winners, paid_winners = asyncio.run(
            scenario(system.urls["campaign"], system.gateway, system.simulator,
                     TokenCodec(QunyunSettings(secret_key=env["QUNYUN_SECRET_KEY"])), args, pids)
        )
        load = max(load, os.getloadavg()[0])
    finally:
        system.stop()
        for name in databases.values():
            asyncio.run(drop_database(infra.server_uri, name))
        infra.stop()
    print_table(f"POST /mp/v1/periods/{{id}}/registrations, {args.count:,} members per free row, "
                f"{args.paid_count:,} per paid row, {args.concurrency} concurrent "
                f"(load average {load:.1f} on {os.cpu_count()} cores)", rows,
                ("path", "registrations/s", "p50 ms", "p99 ms", "campaign CPU ms/reg", "gateway CPU ms/reg",
                 "statuses"))
    print(f"\ncapacity race, 500 members for 100 places, {len(winners)} runs: winners per run {winners} "
          f"({'exactly 100 every run' if set(winners) == {100} else 'NOT 100 every run'})")
    print(f"paid capacity race, 300 members for 50 places: winners {paid_winners} "
          f"({'exactly 50' if paid_winners == [50] else 'NOT exactly 50'})")


if __name__ == "__main__":
    main()
