"""Activity ingest throughput: ``POST /mp/v1/activity`` in batches of 20, up to the ``app.activity`` topic.

The gateway validates each item, rate-limits per member, writes the items and
their dedupe claims to its outbox in one statement, answers 202; its relay
publishes them. A consumer counts the topic from the start of the run, so the
end-to-end figure is items accepted *and* on the topic per second. Baseline in
the same run: raw aiokafka produce (acks=all) + consume of the same envelopes
(a producer and a consumer running together, no HTTP, no database).

Into tagging's facts: ``--facts`` also starts tagging-service (when it
consumes ``app.activity``) and waits until its ``daily_activity`` counts every
item. Target (issue 11): ≥ 5,000 items/s into tagging's facts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from common import REPO, CpuMeter, print_table, run_load, spawn, wait_http

from gateway.activity.events import event_rows
from gateway.activity.validation import check_item
from shared.auth import TokenCodec
from shared.kafka.topics import APP_ACTIVITY, ensure_topics
from shared.settings import QunyunSettings
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra, with_database

KINDS = ("page.viewed", "quiz.answered", "content.shared", "custom.video_played")


def item(i: int, tag: str) -> dict:
    """One plausible item (a mix of kinds), with a unique event id."""
    kind = KINDS[i % len(KINDS)]
    base = {"kind": kind, "at": datetime.now(UTC).isoformat(), "event_id": f"{tag}-{i}"}
    if kind == "page.viewed":
        return base | {"page": f"pages/period/detail?id={i % 50}", "duration_ms": 1000 + i % 30_000}
    if kind == "quiz.answered":
        return base | {"props": {"quiz_id": 1 + i % 40, "question_id": 1 + i % 400, "correct": i % 3 != 0,
                                 "series_id": 1 + i % 3, "period_id": 1 + i % 9}}
    if kind == "content.shared":
        return base | {"props": {"target": ("group", "friend", "moments")[i % 3]}}
    return base | {"props": {"video": f"v{i % 20}", "seconds": i % 600}}


def build_requests(count: int, batch: int, members: int, codec: TokenCodec, tag: str) -> list[tuple[str, bytes]]:
    """(authorization, body) of ``count`` items in batches, members taking turns."""
    tokens = [f"Bearer {codec.issue_member(10_001 + m, session_id='bench', ttl=3600)}" for m in range(members)]
    requests = []
    for start in range(0, count, batch):
        events = [item(i, tag) for i in range(start, min(start + batch, count))]
        requests.append((tokens[(start // batch) % members], orjson.dumps({"events": events})))
    return requests


async def post_all(base: str, requests: list[tuple[str, bytes]], concurrency: int) -> tuple[float, list[float], int]:
    """Post every batch once; (batches/s, sorted latencies, failures)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send(index: int) -> bool:
            auth, body = requests[index]
            async with session.post(f"{base}/mp/v1/activity", data=body,
                                    headers={"authorization": auth, "content-type": "application/json"}) as r:
                answer = await r.read()
                return r.status == 202 and not orjson.loads(answer)["rejected"]

        return await run_load(send, len(requests), concurrency)


async def count_topic(bootstrap: str, topic: str, expected: int, ready: asyncio.Event,
                      within_seconds: float = 180) -> tuple[int, float]:
    """Records on ``topic`` from the start; (count, monotonic time the last expected one arrived)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=2 * 1024 * 1024)
    await consumer.start()
    ready.set()
    seen, last = 0, time.perf_counter()
    deadline = time.monotonic() + within_seconds
    try:
        while seen < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10_000)).values():
                seen += len(records)
                last = time.perf_counter()
    finally:
        await consumer.stop()
    return seen, last


async def ingest(base: str, bootstrap: str, topic: str, requests: list[tuple[str, bytes]], items: int,
                 concurrency: int, already: int) -> tuple[float, list[float], int, float, int, float]:
    """Post while counting the topic; (HTTP items/s, latencies, failures, end-to-end items/s, on topic, start)."""
    ready = asyncio.Event()
    counter = asyncio.create_task(count_topic(bootstrap, topic, already + items, ready))
    await ready.wait()
    started = time.perf_counter()
    rate, latencies, failures = await post_all(base, requests, concurrency)
    seen, last = await counter
    http_items = rate * items / max(len(requests), 1)
    return http_items, latencies, failures, items / (last - started), seen - already, started


async def raw_baseline(bootstrap: str, envelopes: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """Raw aiokafka, the same envelopes: (produce-only items/s, produce+consume together items/s)."""
    topic = f"bench-raw-activity-{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=12)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=2 * 1024 * 1024)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=256 * 1024)
    await producer.start()

    async def consume() -> float:
        got = 0
        while got < len(envelopes):
            for records in (await consumer.getmany(timeout_ms=200, max_records=10_000)).values():
                got += len(records)
        return time.perf_counter()

    reader = asyncio.create_task(consume())
    started = time.perf_counter()
    futures = [await producer.send(topic, value, key=key) for key, value in envelopes]
    await asyncio.gather(*futures)
    produced = time.perf_counter()
    consumed = await asyncio.wait_for(reader, 180)
    await producer.stop()
    await consumer.stop()
    return len(envelopes) / (produced - started), len(envelopes) / (consumed - started)


def envelopes_of(requests: list[tuple[str, bytes]], codec: TokenCodec) -> list[tuple[bytes, bytes]]:
    """The envelopes the gateway would publish for these requests (for the raw baseline)."""
    now = datetime.now(UTC)
    out = []
    for auth, body in requests:
        member_no = codec.verify_member_token(auth.removeprefix("Bearer "))[0].member_no
        items = [check_item(i, raw, now) for i, raw in enumerate(orjson.loads(body)["events"])]
        _, rows = event_rows(member_no, items)  # type: ignore[arg-type]
        out += [(row["key"].encode(), orjson.dumps(row["envelope"])) for row in rows]
    return out


async def facts_count(dsn: str) -> int:
    """Items counted in tagging's daily_activity (0 when the table is not there)."""
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass('daily_activity') IS NOT NULL")
        return int(await conn.fetchval("SELECT coalesce(sum(items), 0) FROM daily_activity")) if exists else 0
    finally:
        await conn.close()


async def produce_backlog(bootstrap: str, topic: str, envelopes: list[tuple[bytes, bytes]]) -> None:
    """Put the envelopes on ``topic`` (raw aiokafka), for the facts consumer to read as a backlog."""
    await ensure_topics(bootstrap, [topic], partitions=12)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=256 * 1024)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value, key=key) for key, value in envelopes])
    finally:
        await producer.stop()


def consume_backlog(infra, env: dict[str, str], envelopes: list[tuple[bytes, bytes]], logs: Path,
                    databases: list[str], processes: list) -> tuple[float, int]:
    """tagging-service alone on a backlog of the same items: (items/s from first to last counted, counted)."""
    namespace = f"bench{uuid.uuid4().hex[:6]}."
    asyncio.run(produce_backlog(infra.bootstrap, namespace + APP_ACTIVITY, envelopes))
    database = asyncio.run(migrated_database(infra, "tagging"))
    databases.append(database)
    dsn = with_database(infra.server_uri, database)
    processes.append(("tagging-backlog", spawn("tagging_service", {
        **env, "QUNYUN_KAFKA_NAMESPACE": namespace, "TAGGING_DATABASE_NAME": database,
        "TAGGING_PORT": str(free_port())}, logs / "tagging-backlog.log")))
    first, counted, deadline = None, 0, time.perf_counter() + 240
    while time.perf_counter() < deadline and counted < len(envelopes):
        counted = asyncio.run(facts_count(dsn))
        if counted and first is None:
            first = (time.perf_counter(), counted)
        time.sleep(0.1)
    if first is None:
        return 0.0, 0
    elapsed = max(time.perf_counter() - first[0], 1e-3)
    return (counted - first[1]) / elapsed, counted


def tagging_consumes_activity() -> bool:
    """Whether tagging-service (in this checkout) handles app.activity.recorded."""
    root = REPO / "tagging-service" / "src"
    return any("app.activity.recorded" in p.read_text(errors="ignore") for p in root.rglob("*.py"))


def pct(values: list[float], q: float) -> float:
    """Percentile in ms of sorted seconds."""
    return values[min(int(len(values) * q), len(values) - 1)] * 1000 if values else 0.0


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--facts", action="store_true", help="also measure into tagging's facts, when it can")
    args = parser.parse_args()
    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-activity"
    logs.mkdir(parents=True, exist_ok=True)
    databases: list[str] = []
    processes = []
    secret = secrets.token_urlsafe(36)
    codec = TokenCodec(QunyunSettings(secret_key=secret))
    namespace = f"bench{uuid.uuid4().hex[:6]}."
    topic = namespace + APP_ACTIVITY
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    facts: tuple[float, int] | None = None
    backlog: tuple[float, int] | None = None
    try:
        gateway_db = asyncio.run(migrated_database(infra, "gateway"))
        databases.append(gateway_db)
        env = {
            "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull, "QUNYUN_LOG_LEVEL": "WARNING",
            "QUNYUN_SECRET_KEY": secret, "DATABASE_URL": infra.server_uri, "GATEWAY_DATABASE_NAME": gateway_db,
            "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "QUNYUN_KAFKA_NAMESPACE": namespace,
            "GATEWAY_PORT": str(port), "GATEWAY_WORKERS": str(args.workers),
        }
        tagging_db = None
        if args.facts and tagging_consumes_activity():
            tagging_db = asyncio.run(migrated_database(infra, "tagging"))
            databases.append(tagging_db)
            tagging_env = {**env, "TAGGING_DATABASE_NAME": tagging_db, "TAGGING_PORT": str(free_port())}
            processes.append(("tagging", spawn("tagging_service", tagging_env, logs / "tagging.log")))
        gateway = spawn("gateway", env, logs / "gateway.log")
        processes.append(("gateway", gateway))
        wait_http(f"{base}/healthz")
        time.sleep(1 + args.workers)
        warm = build_requests(1000, args.batch, args.members, codec, "warm")
        asyncio.run(post_all(base, warm, args.concurrency))
        requests = build_requests(args.items, args.batch, args.members, codec, "run")
        meter = CpuMeter({"gateway": gateway.pid})
        meter.start()
        http_rate, latencies, failures, e2e_rate, on_topic, started = asyncio.run(
            ingest(base, infra.bootstrap, topic, requests, args.items, args.concurrency, already=1000))
        cpu = meter.stop()
        if tagging_db is not None:
            dsn = with_database(infra.server_uri, tagging_db)
            deadline = time.perf_counter() + 180
            counted = 0
            while time.perf_counter() < deadline:
                counted = asyncio.run(facts_count(dsn))
                if counted >= args.items + 1000:
                    break
                time.sleep(0.2)
            # warm-up items are counted too; the rate is of the measured run
            facts = (max(counted - 1000, 0) / (time.perf_counter() - started), counted - 1000)
        envelopes = envelopes_of(requests, codec)
        raw_produce, raw_both = asyncio.run(raw_baseline(infra.bootstrap, envelopes))
        if tagging_db is not None:
            backlog = consume_backlog(infra, env, envelopes, logs, databases, processes)
    finally:
        for _, process in processes:
            process.terminate()
            process.wait(30)
        for name in databases:
            asyncio.run(drop_database(infra.server_uri, name))
        infra.stop()
    rows = [
        (f"POST /mp/v1/activity, batches of {args.batch}, {args.concurrency} concurrent (202 answered)",
         f"{http_rate:,.0f}", f"{pct(latencies, 0.5):.1f}", f"{pct(latencies, 0.99):.1f}", str(failures)),
        ("  … and on the app.activity topic (end to end)", f"{e2e_rate:,.0f}", "-", "-",
         f"{args.items - on_topic} missing"),
        ("raw aiokafka produce (acks=all), same envelopes", f"{raw_produce:,.0f}", "-", "-", "-"),
        ("raw aiokafka produce + consume together", f"{raw_both:,.0f}", "-", "-", "-"),
    ]
    if facts is not None:
        rows.append(("  … and counted in tagging's facts (daily_activity)", f"{facts[0]:,.0f}", "-", "-",
                     f"{args.items - facts[1]} missing"))
    if backlog is not None:
        rows.append(("tagging's facts consumer alone, same items as a backlog on the topic", f"{backlog[0]:,.0f}",
                     "-", "-", f"{args.items - backlog[1]} missing"))
    print_table(f"{args.items:,} activity items, {args.members} members, gateway {args.workers} worker(s)", rows,
                ("path", "items/s", "p50 ms (batch)", "p99 ms (batch)", "failed"))
    per_item = {name: seconds / args.items * 1e6 for name, seconds in cpu.items()}
    print("\nCPU µs per item: " + ", ".join(f"{name} {value:.0f}" for name, value in sorted(per_item.items())))
    print(f"ratio end to end / raw produce+consume: {e2e_rate / raw_both:.0%}")


if __name__ == "__main__":
    main()
