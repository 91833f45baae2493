"""Outbox relay throughput: committed outbox rows → Kafka, in the gateway's database, no HTTP.

Two runs of ``shared.events.relay.OutboxRelay`` in one process, each counted
by a consumer of the topic from the first row to the last:

- **live**: ``--writers`` tasks commit activity-sized envelopes ``--batch`` rows
  per transaction (as ``POST /mp/v1/activity`` does) while the relay, woken in
  process by each commit, publishes them;
- **backlog**: the same number of rows already committed, then the relay starts.

Baseline in the same run: raw aiokafka produce (acks=all) + consume of the same
envelopes. Prints the load average beside the figures.

    .venv/bin/python bench/activity/relay.py [--items 40000] [--batch 20] [--writers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from common import REPO, print_table

from shared.db import create_engine, create_session_factory, unit_of_work
from shared.events.envelope import new_event_id
from shared.events.outbox import OUTBOX_TABLE, WAKE_KEY, WRITTEN_KEY
from shared.events.relay import OutboxRelay
from shared.kafka.topics import ensure_topics
from shared.settings import to_async_url
from shared.testing.infra import drop_database, migrated_database, start_infra, with_database


def rows_of(count: int, members: int, topic: str) -> list[dict]:
    """Outbox rows shaped like the gateway's activity items (one envelope each, key = member)."""
    out = []
    for i in range(count):
        member_no = 10001 + i % members
        event_id = new_event_id()
        out.append({"event_id": event_id, "topic": topic, "key": str(member_no), "type": "app.activity.recorded",
                    "envelope": {"id": str(event_id), "type": "app.activity.recorded", "version": 1,
                                 "occurred_at": "2026-12-01T12:00:00+00:00", "source": "gateway",
                                 "member_no": member_no, "trace_id": None,
                                 "data": {"member_no": member_no, "kind": "quiz.answered", "event_id": str(event_id),
                                          "at": "2026-12-01T12:00:00+00:00", "page": "/pages/quiz/index",
                                          "props": {"series_id": 3, "question_id": i, "correct": i % 3 == 0}}}})
    return out


async def count(bootstrap: str, topic: str, expected: int, ready: asyncio.Event) -> float:
    """Read ``topic`` from the start until ``expected`` records; when the last arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=2 * 1024 * 1024)
    await consumer.start()
    try:
        ready.set()
        got = 0
        deadline = time.perf_counter() + 300
        while got < expected and time.perf_counter() < deadline:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10_000)).values():
                got += len(records)
        if got < expected:
            raise RuntimeError(f"only {got} of {expected} records on {topic}")
        return time.perf_counter()
    finally:
        await consumer.stop()


async def relay_run(infra, db: str, rows: list[dict], *, live: bool, writers: int, batch: int
                    ) -> tuple[float, float]:
    """(items/s committed by the writers, items/s from the first row (live: first commit; backlog: relay
    start) to the last on the topic)."""
    namespace = f"benchrelay{uuid.uuid4().hex[:6]}."
    topic = namespace + rows[0]["topic"]
    await ensure_topics(infra.bootstrap, [topic], partitions=12)
    engine = create_engine(to_async_url(with_database(infra.server_uri, db)))
    sessions = create_session_factory(engine)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all", linger_ms=2,
                                max_batch_size=256 * 1024, request_timeout_ms=10_000)
    relay = OutboxRelay(service="gateway", session_factory=sessions, producer=producer, listen_dsn=None,
                        topic_prefix=namespace)
    sessions.configure(info={"service": "gateway", WAKE_KEY: relay.wake})
    stop = asyncio.Event()
    ready = asyncio.Event()

    async def write(chunks: list[list[dict]]) -> None:
        for chunk in chunks:
            async with unit_of_work(sessions) as session:
                await session.execute(OUTBOX_TABLE.insert(), chunk)
                session.info[WRITTEN_KEY] = True

    chunks = [rows[i:i + batch] for i in range(0, len(rows), batch)]
    try:
        counter = asyncio.create_task(count(infra.bootstrap, topic, len(rows), ready))
        await ready.wait()
        if live:
            runner = asyncio.create_task(relay.run(stop))
            await asyncio.sleep(0.5)  # producer started, metadata read
            started = time.perf_counter()
            await asyncio.gather(*(write(chunks[w::writers]) for w in range(writers)))
            written = len(rows) / (time.perf_counter() - started)
        else:
            t0 = time.perf_counter()
            await asyncio.gather(*(write(chunks[w::writers]) for w in range(writers)))
            written = len(rows) / (time.perf_counter() - t0)
            await relay._ensure_producer()
            started = time.perf_counter()
            runner = asyncio.create_task(relay.run(stop))
        last = await counter
        return written, len(rows) / (last - started)
    finally:
        stop.set()
        await asyncio.gather(runner, return_exceptions=True)
        await relay.stop_producer()
        await engine.dispose()


async def raw_baseline(bootstrap: str, rows: list[dict]) -> float:
    """Raw aiokafka produce (acks=all) + consume together of the same envelopes: items/s."""
    topic = f"bench-raw-relay-{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=12)
    ready = asyncio.Event()
    counter = asyncio.create_task(count(bootstrap, topic, len(rows), ready))
    await ready.wait()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=256 * 1024)
    await producer.start()
    payloads = [(r["key"].encode(), orjson.dumps(r["envelope"])) for r in rows]
    started = time.perf_counter()
    futures = [await producer.send(topic, value, key=key) for key, value in payloads]
    await asyncio.gather(*futures)
    last = await counter
    await producer.stop()
    return len(rows) / (last - started)


async def main(items: int, batch: int, writers: int, members: int) -> None:
    infra = start_infra(REPO)
    loads = [os.getloadavg()]
    results: list[tuple[str, float, float | None]] = []
    try:
        for live in (True, False):
            db = await migrated_database(infra, "gateway")
            try:
                rows = rows_of(items, members, "app.activity")
                written, rate = await relay_run(infra, db, rows, live=live, writers=writers, batch=batch)
            finally:
                await drop_database(infra.server_uri, db)
            name = (f"relay, live: {writers} writers committing {batch} rows each" if live
                    else "relay alone on a backlog of committed rows")
            results.append((name, rate, written))
            loads.append(os.getloadavg())
        results.append(("raw aiokafka produce + consume, same envelopes", await raw_baseline(
            infra.bootstrap, rows_of(items, members, "app.activity")), None))
        loads.append(os.getloadavg())
    finally:
        infra.stop()
    raw = results[-1][1]
    print_table(f"{items:,} outbox rows, {members} members (keys), 12 partitions",
                [(name, f"{rate:,.0f}", f"{rate / raw:.0%}", f"{written:,.0f}" if written else "-")
                 for name, rate, written in results],
                ("path", "items/s on the topic", "of raw", "items/s committed by the writers"))
    print("load average (1, 5, 15 min) during the runs: "
          + "; ".join(", ".join(f"{x:.1f}" for x in load) for load in loads))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=40_000, help="outbox rows per run")
    parser.add_argument("--batch", type=int, default=20, help="rows per writer transaction (live run)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (live run)")
    parser.add_argument("--members", type=int, default=1000, help="distinct keys")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.batch, args.writers, args.members))
