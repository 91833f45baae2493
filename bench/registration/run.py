"""Registrations for a free period through the gateway vs directly, and the capacity race.

Starts PostgreSQL, a broker, campaign-service and the gateway (one uvicorn
worker each). Staff create a series and open free periods; distinct members
register at a fixed concurrency through the gateway (member tokens) and
directly on campaign-service (internal tokens) — the baseline of the same
run. Then, several times, 500 members race for 100 places: exactly 100 must
win every time.
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


async def register_all(url: str, headers: list[dict], concurrency: int) -> tuple[float, list[float], dict[int, int]]:
    """One registration per header set; returns (per second, sorted latencies, status counts)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = list(reversed(headers))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            while pending:
                h = pending.pop()
                started = time.perf_counter()
                async with session.post(url, json={}, headers=h) as response:
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


async def scenario(campaign: str, gateway: str, codec: TokenCodec, args) -> tuple[list, list[int]]:
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

    direct = await register_all(f"{campaign}/mp/v1/periods/{direct_period}/registrations",
                                [internal(100_000 + i) for i in range(args.count)], args.concurrency)
    through = await register_all(f"{gateway}/mp/v1/periods/{gateway_period}/registrations",
                                 [member_token(200_000 + i) for i in range(args.count)], args.concurrency)
    rows = [(label, f"{rate:,.0f}", f"{pct(lat, 0.5):.1f}", f"{pct(lat, 0.99):.1f}", str(st))
            for label, (rate, lat, st) in (("direct (campaign-service)", direct), ("through the gateway", through))]
    winners = []
    for n, period in enumerate(race_periods):
        _, _, statuses = await register_all(f"{gateway}/mp/v1/periods/{period}/registrations",
                                            [member_token(300_000 + n * 1000 + i) for i in range(500)], 500)
        winners.append(statuses.get(201, 0))
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
        rows, winners = asyncio.run(scenario(campaign, gateway, TokenCodec(QunyunSettings(secret_key=secret)), args))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        for name in databases.values():
            asyncio.run(drop_database(infra.server_uri, name))
        infra.stop()
    print_table(f"POST /mp/v1/periods/{{id}}/registrations, free period, {args.count:,} members, "
                f"{args.concurrency} concurrent", rows, ("path", "registrations/s", "p50 ms", "p99 ms", "statuses"))
    print(f"\ncapacity race, 500 members for 100 places, {len(winners)} runs: winners per run {winners} "
          f"({'exactly 100 every run' if set(winners) == {100} else 'NOT 100 every run'})")


if __name__ == "__main__":
    main()
