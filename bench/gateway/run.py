"""Gateway overhead: the same trivial endpoint served directly vs through the gateway.

Starts the embedded PostgreSQL and a broker, campaign-service (owner of
``GET /mp/v1/server-time``) and the gateway, each under one uvicorn worker,
then loads both paths with wrk (or, without wrk, the Python client of
``common.wrk``) at the same concurrency.
Target: the gateway keeps ≥ 50% of direct throughput with ≤ 2 ms added p50.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import REPO, print_table, spawn, wait_http, wrk

from shared.auth import MemberPrincipal, TokenCodec
from shared.settings import QunyunSettings
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()

    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-gateway"
    logs.mkdir(parents=True, exist_ok=True)
    database = asyncio.run(migrated_database(infra, "campaign"))
    secret = secrets.token_urlsafe(36)
    ports = {"campaign": free_port(), "gateway": free_port()}
    env = {
        "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": "/dev/null", "QUNYUN_LOG_LEVEL": "WARNING",
        "DATABASE_URL": infra.server_uri, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "QUNYUN_SECRET_KEY": secret, "CAMPAIGN_DATABASE_NAME": database,
        "CAMPAIGN_PORT": str(ports["campaign"]), "GATEWAY_PORT": str(ports["gateway"]),
        "QUNYUN_CAMPAIGN_URL": f"http://127.0.0.1:{ports['campaign']}",
        "GATEWAY_DATABASE_NAME": database,  # the gateway only needs a reachable database here
    }
    processes = [spawn("campaign_service", env, logs / "campaign.log"), spawn("gateway", env, logs / "gateway.log")]
    try:
        direct_url = f"http://127.0.0.1:{ports['campaign']}/mp/v1/server-time"
        gateway_url = f"http://127.0.0.1:{ports['gateway']}/mp/v1/server-time"
        wait_http(f"http://127.0.0.1:{ports['campaign']}/healthz")
        wait_http(f"http://127.0.0.1:{ports['gateway']}/healthz")
        codec = TokenCodec(QunyunSettings(secret_key=secret))
        member = MemberPrincipal(member_no=10001, session_id="bench")
        internal = codec.issue_internal(caller="gateway", audience="campaign", member=member, ttl=3600)
        member_token = codec.issue_member(10001, session_id="bench", ttl=3600)
        direct_headers = {"Authorization": f"Bearer {internal}"}
        gateway_headers = {"Authorization": f"Bearer {member_token}"}
        # Warm up both paths (connection pools, JIT-free but cache-warm).
        wrk("warm", direct_url, headers=direct_headers, connections=10, seconds=2)
        wrk("warm", gateway_url, headers=gateway_headers, connections=10, seconds=2)
        direct = wrk("direct (campaign-service)", direct_url, headers=direct_headers,
                     connections=args.connections, seconds=args.seconds)
        through = wrk("through the gateway", gateway_url, headers=gateway_headers,
                      connections=args.connections, seconds=args.seconds)
        # Added latency is read unloaded: at saturation p50 is queueing
        # (concurrency / throughput), not the gateway's own cost.
        direct_one = wrk("direct, 1 connection", direct_url, headers=direct_headers, connections=1,
                         seconds=max(args.seconds // 2, 3))
        through_one = wrk("gateway, 1 connection", gateway_url, headers=gateway_headers, connections=1,
                          seconds=max(args.seconds // 2, 3))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        asyncio.run(drop_database(infra.server_uri, database))
        infra.stop()

    rows = [
        (r.label, f"{r.requests_per_second:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors))
        for r in (direct, through, direct_one, through_one)
    ]
    print_table(
        "GET /mp/v1/server-time (member token at the gateway, internal token direct)",
        rows, ("path", "req/s", "p50 ms", "p99 ms", "errors"),
    )
    ratio = through.requests_per_second / direct.requests_per_second
    added = through_one.p50_ms - direct_one.p50_ms
    print(f"\ngateway keeps {ratio:.0%} of direct throughput at {args.connections} connections (target ≥ 50%)")
    print(f"gateway adds {added:.2f} ms to p50 unloaded (target ≤ 2 ms); "
          f"{through.p50_ms - direct.p50_ms:.2f} ms at {args.connections} connections (queueing)")


if __name__ == "__main__":
    main()
