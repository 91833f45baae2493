"""Push throughput: signed + encrypted (safe mode) pushes accepted by the gateway.

Pre-builds N distinct safe-mode text pushes (wechat.md: msg_signature, AES-256-CBC),
posts them at a fixed concurrency to the gateway (verify, decrypt, dedupe,
record + outbox in one transaction, answer) and to a bare FastAPI endpoint in
the same run, then counts the ``wechat.inbound`` topic: every push exactly
once. Target: ≥ 1,000 pushes/s, p99 < 50 ms at 50 concurrent, none lost or
duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiokafka import AIOKafkaConsumer
from common import REPO, print_table, run_load, spawn, wait_http

from shared.events.envelope import Envelope
from shared.settings import DEV_OA_AES_KEY, DEV_OA_APPID, DEV_OA_TOKEN
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra
from shared.wechat.callback import CallbackCrypto


def build_pushes(count: int) -> list[tuple[str, bytes]]:
    """(query string, body) of ``count`` distinct safe-mode pushes."""
    crypto = CallbackCrypto(DEV_OA_TOKEN, DEV_OA_AES_KEY, DEV_OA_APPID)
    pushes = []
    base_id = secrets.randbelow(10**12)
    for i in range(count):
        ts, nonce = str(int(time.time())), secrets.token_hex(5)
        xml = (
            f"<xml><ToUserName><![CDATA[gh_qunyundev0001]]></ToUserName>"
            f"<FromUserName><![CDATA[oBENCH{i % 500}]]></FromUserName><CreateTime>{ts}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[打卡 {i}]]></Content>"
            f"<MsgId>{base_id + i}</MsgId></xml>"
        )
        encrypt, msg_sig = crypto.encrypt(xml.encode(), ts, nonce)
        signature = hashlib.sha1("".join(sorted([DEV_OA_TOKEN, ts, nonce])).encode()).hexdigest()  # noqa: S324
        query = (
            f"signature={signature}&timestamp={ts}&nonce={nonce}&openid=oBENCH&encrypt_type=aes&msg_signature={msg_sig}"
        )
        body = (
            f"<xml><ToUserName><![CDATA[gh_qunyundev0001]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        pushes.append((query, body.encode()))
    return pushes


async def post_all(base: str, pushes: list[tuple[str, bytes]], concurrency: int,
                   rate: float | None = None) -> tuple[float, list[float], int]:
    """Post every push once (saturated, or paced at ``rate``/s as WeChat delivers); (pushes/s, latencies, failures)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send(index: int) -> bool:
            query, body = pushes[index]
            async with session.post(f"{base}/wechat/oa/{DEV_OA_APPID}?{query}", data=body) as response:
                return response.status == 200 and await response.text() == "success"

        return await run_load(send, len(pushes), concurrency, rate)


async def count_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> Counter[str]:
    """MsgIds seen on ``topic`` (the gateway's wechat.inbound)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    try:
        while sum(seen.values()) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    seen[Envelope.from_bytes(record.value).data.get("msg_id") or "?"] += 1
        await asyncio.sleep(2)  # anything duplicated would arrive by now
        for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
            for record in records:
                seen[Envelope.from_bytes(record.value).data.get("msg_id") or "?"] += 1
    finally:
        await consumer.stop()
    return seen


def pct(values: list[float], q: float) -> float:
    """Percentile in ms of sorted seconds."""
    return values[min(int(len(values) * q), len(values) - 1)] * 1000


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", default="1,2", help="gateway worker processes to measure, e.g. 1,2")
    parser.add_argument("--paced-rate", type=float, default=1000,
                        help="pushes/s offered in the paced run (latency below saturation)")
    args = parser.parse_args()
    worker_counts = [int(n) for n in args.workers.split(",")]
    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-callbacks"
    logs.mkdir(parents=True, exist_ok=True)
    database = asyncio.run(migrated_database(infra, "gateway"))
    namespace = f"bench{uuid.uuid4().hex[:6]}."
    ports = {"gateway": free_port(), "bare": free_port()}
    env = {
        "QUNYUN_ENV": "test",
        "QUNYUN_ENV_FILE": os.devnull,
        "QUNYUN_LOG_LEVEL": "WARNING",
        "DATABASE_URL": infra.server_uri,
        "GATEWAY_DATABASE_NAME": database,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "QUNYUN_KAFKA_NAMESPACE": namespace,
        "GATEWAY_PORT": str(ports["gateway"]),
    }
    bare = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare:app", "--port", str(ports["bare"]), "--log-level", "warning",
         "--no-access-log"],
        cwd=Path(__file__).parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    results: dict[str, tuple[float, list[float], int]] = {}
    sent = 0
    try:
        wait_http(f"http://127.0.0.1:{ports['bare']}/docs")
        warm = build_pushes(200)
        asyncio.run(post_all(f"http://127.0.0.1:{ports['bare']}", warm, args.concurrency))
        bare_rate, bare_lat, _ = asyncio.run(
            post_all(f"http://127.0.0.1:{ports['bare']}", build_pushes(args.pushes), args.concurrency))
        for workers in worker_counts:
            gateway = spawn("gateway", {**env, "GATEWAY_WORKERS": str(workers)}, logs / "gateway.log")
            try:
                wait_http(f"{gateway_url}/healthz")
                time.sleep(1 + workers)  # every worker up and its pools warm
                warm, pushes, paced = build_pushes(200), build_pushes(args.pushes), build_pushes(args.pushes)
                asyncio.run(post_all(gateway_url, warm, args.concurrency))
                label = f"gateway /wechat/oa, {workers} worker{'s' if workers > 1 else ''}"
                results[label] = asyncio.run(post_all(gateway_url, pushes, args.concurrency))
                results[f"{label}, paced at {args.paced_rate:,.0f}/s"] = asyncio.run(
                    post_all(gateway_url, paced, args.concurrency, rate=args.paced_rate))
                sent += len(warm) + len(pushes) + len(paced)
            finally:
                gateway.terminate()
                gateway.wait(30)
        # The relays of stopped gateways flushed on shutdown; whatever is left
        # unpublished would show up here as lost.
        seen = asyncio.run(count_topic(infra.bootstrap, f"{namespace}wechat.inbound", sent))
    finally:
        bare.terminate()
        bare.wait(10)
        asyncio.run(drop_database(infra.server_uri, database))
        infra.stop()
    published = sum(seen.values())
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    rows = [("bare FastAPI endpoint (1 worker)", f"{bare_rate:,.0f}", f"{pct(bare_lat, 0.5):.2f}",
             f"{pct(bare_lat, 0.99):.2f}", "-")]
    for label, (rate, lat, failures) in results.items():
        rows.append((label, f"{rate:,.0f}", f"{pct(lat, 0.5):.2f}", f"{pct(lat, 0.99):.2f}", str(failures)))
    print_table(f"{args.pushes:,} safe-mode text pushes, {args.concurrency} concurrent "
                "(gateway: verify, decrypt, dedupe, outbox)", rows,
                ("endpoint", "pushes/s", "p50 ms", "p99 ms", "failed"))
    print(f"\nwechat.inbound: {published:,} events for {sent:,} pushes; lost {max(sent - len(seen), 0)}, "
          f"duplicated {duplicated}")


if __name__ == "__main__":
    main()
