"""Mini-program logins: ``POST /mp/v1/session`` through the gateway vs directly on identity.

Starts the whole system (simulator, services, gateway) as processes, creates
simulated people, pre-fetches single-use login codes from the simulator, then
logs in new members once and returning members repeatedly at a fixed
concurrency: through the gateway, and directly on identity-service with an
internal token (the baseline of the same run). Each login calls the
simulator's jscode2session and writes the session.
Target: ≥ 500 logins/s for returning members, p99 < 50 ms at 50 concurrent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from common import REPO, CpuMeter, print_table, run_load

from shared.auth import TokenCodec
from shared.settings import QunyunSettings
from shared.testing.infra import start_infra
from shared.testing.system import start_system


async def make_people(sim: str, count: int) -> list[str]:
    """Simulated people with UnionIDs; returns their ids."""
    async with aiohttp.ClientSession() as session:
        async def one(_: int) -> str:
            async with session.post(f"{sim}/sim/people", json={"with_unionid": True}) as response:
                return str((await response.json())["person_id"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def codes_for(sim: str, people: list[str], rounds: int) -> list[str]:
    """``rounds`` login codes per person, interleaved so no person logs in twice in a row."""
    async with aiohttp.ClientSession() as session:
        async def one(person: str) -> str:
            async with session.post(f"{sim}/sim/people/{person}/login-code") as response:
                return str((await response.json())["code"])

        codes: list[str] = []
        for _ in range(rounds):
            codes += await asyncio.gather(*(one(p) for p in people))
        return codes


async def login_all(url: str, codes: list[str], headers: dict[str, str], concurrency: int,
                    rate: float | None = None):
    """Log in with every code (saturated, or paced at ``rate``/s); (logins/s, sorted latencies, failures)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def send(index: int) -> bool:
            async with session.post(url, json={"code": codes[index]}, headers=headers) as response:
                await response.read()
                return response.status == 200

        return await run_load(send, len(codes), concurrency, rate)


def pct(values: list[float], q: float) -> float:
    """Percentile in ms of sorted seconds."""
    return values[min(int(len(values) * q), len(values) - 1)] * 1000


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--paced-rate", type=float, default=500,
                        help="logins/s offered in the paced run of returning members (latency below saturation)")
    parser.add_argument("--paced-rounds", type=int, default=10,
                        help="logins per person in the paced run (people × rounds requests: long enough for a p99)")
    parser.add_argument("--identity-workers", type=int, default=1, help="IDENTITY_WORKERS")
    parser.add_argument("--gateway-workers", type=int, default=1, help="GATEWAY_WORKERS")
    args = parser.parse_args()
    infra = start_infra(REPO)
    system = start_system(infra, {"IDENTITY_WORKERS": str(args.identity_workers),
                                  "GATEWAY_WORKERS": str(args.gateway_workers)})
    try:
        sim, gateway, identity = system.simulator, system.gateway, system.urls["identity"]
        internal = TokenCodec(QunyunSettings(secret_key=system.env["QUNYUN_SECRET_KEY"])).issue_internal(
            caller="gateway", audience="identity", ttl=3600)
        direct_headers = {"Authorization": f"Bearer {internal}"}

        async def scenario():
            gw_people = await make_people(sim, args.people)
            direct_people = await make_people(sim, args.people)
            rows = []
            # New members: each person's first login creates the member.
            new_gw = await login_all(f"{gateway}/mp/v1/session", await codes_for(sim, gw_people, 1), {},
                                     args.concurrency)
            new_direct = await login_all(f"{identity}/mp/v1/session", await codes_for(sim, direct_people, 1),
                                         direct_headers, args.concurrency)
            ret_gw_codes = await codes_for(sim, gw_people, args.rounds)
            await asyncio.sleep(2)  # let the new members' events settle out of the CPU window
            meter.start()
            ret_gw = await login_all(f"{gateway}/mp/v1/session", ret_gw_codes, {}, args.concurrency)
            cpu = {name: seconds / len(ret_gw_codes) for name, seconds in meter.stop().items()}
            ret_direct = await login_all(f"{identity}/mp/v1/session",
                                         await codes_for(sim, direct_people, args.rounds), direct_headers,
                                         args.concurrency)
            paced_codes = await codes_for(sim, gw_people, args.paced_rounds)
            paced_gw = await login_all(f"{gateway}/mp/v1/session", paced_codes, {}, args.concurrency,
                                       rate=args.paced_rate)
            for label, (rate, lat, failed) in (
                ("new members, direct (identity)", new_direct), ("new members, through the gateway", new_gw),
                ("returning, direct (identity)", ret_direct), ("returning, through the gateway", ret_gw),
                (f"returning, through the gateway, paced at {args.paced_rate:,.0f}/s", paced_gw),
            ):
                rows.append((label, f"{rate:,.0f}", f"{pct(lat, 0.5):.1f}", f"{pct(lat, 0.99):.1f}", str(failed)))
            return rows, ret_gw, paced_gw, cpu

        meter = CpuMeter({name: process.pid for name, process in system.processes.items()})
        rows, ret_gw, paced_gw, cpu = asyncio.run(scenario())
    finally:
        system.stop()
        infra.stop()
    print_table(f"POST /mp/v1/session, {args.concurrency} concurrent ({args.people} people per path; "
                f"identity workers {args.identity_workers}, gateway workers {args.gateway_workers})", rows,
                ("logins", "logins/s", "p50 ms", "p99 ms", "failed"))
    print_table("CPU per returning login through the gateway (saturated run, every process on this machine)",
                [(name, f"{seconds * 1e6:,.0f}") for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1])],
                ("process", "µs CPU per login"))
    print(f"\nreturning members through the gateway: {ret_gw[0]:,.0f} logins/s at saturation (target ≥ 500); "
          f"p99 {pct(paced_gw[1], 0.99):.1f} ms at {args.paced_rate:,.0f}/s offered over {args.concurrency} "
          f"connections (target < 50 ms); p99 {pct(ret_gw[1], 0.99):.1f} ms at saturation")


if __name__ == "__main__":
    main()
