"""Registrations for a free period through the gateway vs directly, and the capacity race.

Starts PostgreSQL, a broker, campaign-service and the gateway (one uvicorn
worker each). Staff create a series and open free periods; distinct members
register at a fixed concurrency through the gateway (member tokens) and
directly on campaign-service (internal tokens) — the baseline of the same
run; a floor row times campaign's cheapest member endpoint the same way.
Then, several times, 500 members race for 100 places: exactly 100 must win
every time.

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
from common import REPO, print_table, spawn, wait_http

from shared.auth import MemberPrincipal, StaffPrincipal, TokenCodec
from shared.settings import QunyunSettings
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra


def period_body(title: str, capacity: int) -> dict:
    """A free period open for registration now."""
    now = datetime.now(UTC)
    return {"title": title, "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=7)).isoformat(),
            "start_date": (date.today() + timedelta(days=8)).isoformat(),
            "end_date": (date.today() + timedelta(days=20)).isoformat(), "capacity": capacity, "fee_fen": 0}


async def open_period(session: aiohttp.ClientSession, base: str, staff: dict, series_id: int, capacity: int) -> int:
    """Create and open a period; returns its id."""
    async with session.post(f"{base}/admin/v1/series/{series_id}/periods", json=period_body("bench", capacity),
                            headers=staff) as response:
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


async def scenario(
    campaign: str, gateway: str, codec: TokenCodec, args, pids: dict[str, int]
) -> tuple[list, list[int]]:
    staff = {"Authorization": "Bearer " + codec.issue_internal(
        caller="gateway", audience="campaign", staff=StaffPrincipal(1, "bench", frozenset({"admin"})), ttl=3600)}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{campaign}/admin/v1/series", json={"title": "bench series"}, headers=staff) as r:
            series_id = int((await r.json())["id"])
        direct_period = await open_period(session, campaign, staff, series_id, args.count * 2)
        gateway_period = await open_period(session, campaign, staff, series_id, args.count * 2)
        race_periods = [await open_period(session, campaign, staff, series_id, 100) for _ in range(args.races)]

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
    rows = [(label, f"{rate:,.0f}", f"{pct(lat, 0.5):.1f}", f"{pct(lat, 0.99):.1f}",
             f"{cpu['campaign']:.2f}", f"{cpu['gateway']:.2f}", str(st))
            for label, ((rate, lat, st), cpu) in (("floor: GET /mp/v1/server-time, direct", floor),
                                                   ("floor: GET /mp/v1/server-time, through the gateway",
                                                    floor_through),
                                                   ("direct (campaign-service)", direct),
                                                   ("through the gateway", through))]
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
    return rows, winners


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--races", type=int, default=5)
    args = parser.parse_args()
    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-registration"
    logs.mkdir(parents=True, exist_ok=True)
    databases = {name: asyncio.run(migrated_database(infra, name)) for name in ("campaign", "gateway")}
    secret = secrets.token_urlsafe(36)
    ports = {"campaign": free_port(), "gateway": free_port()}
    env = {"QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull, "QUNYUN_LOG_LEVEL": "WARNING",
           "DATABASE_URL": infra.server_uri, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
           "QUNYUN_KAFKA_NAMESPACE": f"bench{secrets.token_hex(3)}.", "QUNYUN_SECRET_KEY": secret,
           "CAMPAIGN_DATABASE_NAME": databases["campaign"], "GATEWAY_DATABASE_NAME": databases["gateway"],
           "CAMPAIGN_PORT": str(ports["campaign"]), "GATEWAY_PORT": str(ports["gateway"]),
           "QUNYUN_CAMPAIGN_URL": f"http://127.0.0.1:{ports['campaign']}", "CAMPAIGN_DB_POOL_SIZE": "20"}
    processes = [spawn("campaign_service", env, logs / "campaign.log"), spawn("gateway", env, logs / "gateway.log")]
    try:
        campaign, gateway = (f"http://127.0.0.1:{ports[n]}" for n in ("campaign", "gateway"))
        wait_http(f"{campaign}/healthz")
        wait_http(f"{gateway}/healthz")
        pids = {"campaign": processes[0].pid, "gateway": processes[1].pid}
        load = os.getloadavg()[0]
        rows, winners = asyncio.run(
            scenario(campaign, gateway, TokenCodec(QunyunSettings(secret_key=secret)), args, pids)
        )
        load = max(load, os.getloadavg()[0])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        for name in databases.values():
            asyncio.run(drop_database(infra.server_uri, name))
        infra.stop()
    print_table(f"POST /mp/v1/periods/{{id}}/registrations, free period, {args.count:,} members, "
                f"{args.concurrency} concurrent (load average {load:.1f} on {os.cpu_count()} cores)", rows,
                ("path", "registrations/s", "p50 ms", "p99 ms", "campaign CPU ms/reg", "gateway CPU ms/reg",
                 "statuses"))
    print(f"\ncapacity race, 500 members for 100 places, {len(winners)} runs: winners per run {winners} "
          f"({'exactly 100 every run' if set(winners) == {100} else 'NOT 100 every run'})")


if __name__ == "__main__":
    main()
