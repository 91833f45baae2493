"""Event pipeline throughput: emit in a transaction → outbox → broker → consumer + inbox.

Producer: the gateway's runtime in this process (writers commit one event per
transaction while its relay publishes). Consumer: metrics-service's worker
process (inbox claim + projection update per event, offsets after commit).
Baseline in the same run: raw aiokafka produce (acks=all) and consume of the
same payloads. Target: ≥ 3,000 events/s end to end and ≥ 25% of raw.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from common import REPO, print_table, spawn
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.config import GatewaySettings
from gateway.main import create_app
from shared.contracts.identity import MemberFollowed
from shared.db import unit_of_work
from shared.events.envelope import Envelope
from shared.events.outbox import emit
from shared.kafka.topics import ensure_topics
from shared.settings import to_async_url, with_database
from shared.testing.infra import drop_database, migrated_database, start_infra


def _event(i: int) -> MemberFollowed:
    member = 10001 + i % 1000
    return MemberFollowed(member_no=member, appid="wxoa", openid=f"o{member}", scene=str(i),
                          followed_at=datetime.now(UTC))


async def raw_baseline(bootstrap: str, count: int) -> tuple[float, float]:
    """Raw aiokafka: produce ``count`` envelopes (acks=all), then consume them."""
    topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=12)
    payloads = [(str(_event(i).member_no).encode(),
                 Envelope(type="identity.member.followed", source="bench", member_no=_event(i).member_no,
                          data=_event(i).model_dump(mode="json")).to_bytes()) for i in range(count)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, value, key=key) for key, value in payloads]
    await asyncio.gather(*futures)
    produce_rate = count / (time.perf_counter() - started)
    await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"g-{topic}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got = 0
    first = None
    while got < count:
        batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
        if batch and first is None:
            first = time.perf_counter()
        for tp, records in batch.items():
            got += len(records)
            await consumer.commit({tp: records[-1].offset + 1})
    consume_rate = count / (time.perf_counter() - (first or time.perf_counter()))
    await consumer.stop()
    return produce_rate, consume_rate


async def pipeline(
    infra, count: int, writers: int, per_tx: int, logs: Path, consumer: str = "metrics_service.worker"
) -> tuple[float, float]:
    """Writers commit ``per_tx`` events per transaction; returns (write rate, end-to-end rate)."""
    namespace = f"bench{uuid.uuid4().hex[:6]}."
    gateway_db = await migrated_database(infra, "gateway")
    metrics_db = await migrated_database(infra, "metrics")
    settings = GatewaySettings(_env_file=None, environment="test", database_url=infra.server_uri,  # type: ignore[call-arg]
                               database_name=gateway_db, kafka_bootstrap_servers=infra.bootstrap,
                               kafka_namespace=namespace, log_level="WARNING")
    worker = spawn(consumer, {
        "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull, "QUNYUN_LOG_LEVEL": "WARNING",
        "DATABASE_URL": infra.server_uri, "METRICS_DATABASE_NAME": metrics_db,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "QUNYUN_KAFKA_NAMESPACE": namespace,
        "PYTHONPATH": str(REPO / "bench"),
    }, logs / "consumer.log")
    engine = create_async_engine(to_async_url(with_database(infra.server_uri, metrics_db)))

    async def applied() -> int:
        async with engine.connect() as conn:
            # The inbox row commits with the handler's effect: count those.
            result = await conn.exec_driver_sql("SELECT count(*) FROM processed_events")
            return int(result.scalar_one())

    app = create_app(settings)
    from asgi_lifespan import LifespanManager

    try:
        async with LifespanManager(app, startup_timeout=60):
            runtime = app.state.runtime
            # Warm-up: the consumer group must have joined before timing starts.
            async with unit_of_work(runtime.session_factory) as session:
                await emit(session, _event(-1), member_no=1)
            runtime.relay.wake()
            while await applied() < 1:
                await asyncio.sleep(0.1)

            started = time.perf_counter()
            per_writer = count // writers

            async def writer(w: int) -> None:
                for first in range(0, per_writer, per_tx):
                    async with unit_of_work(runtime.session_factory) as session:
                        for j in range(first, min(first + per_tx, per_writer)):
                            i = w * per_writer + j
                            await emit(session, _event(i), member_no=10001 + i % 1000)
                    runtime.relay.wake()

            await asyncio.gather(*(writer(w) for w in range(writers)))
            write_rate = count / (time.perf_counter() - started)
            total = per_writer * writers + 1
            while await applied() < total:
                await asyncio.sleep(0.05)
            end_to_end = (total - 1) / (time.perf_counter() - started)
    finally:
        worker.terminate()
        worker.wait(10)
        await engine.dispose()
        await drop_database(infra.server_uri, gateway_db)
        await drop_database(infra.server_uri, metrics_db)
    return write_rate, end_to_end


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--single-events", type=int, default=5_000)
    args = parser.parse_args()
    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-events"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        produce, consume = asyncio.run(raw_baseline(infra.bootstrap, args.events))
        batched = asyncio.run(pipeline(infra, args.events, 4, 100, logs, consumer="events.consumer"))
        projected = asyncio.run(pipeline(infra, args.events // 2, 4, 100, logs))
        single = asyncio.run(pipeline(infra, args.single_events, args.writers, 1, logs))
    finally:
        infra.stop()
    raw = 1 / (1 / produce + 1 / consume)
    print_table(
        f"{args.events:,} events, 12 partitions; consumer: inbox claim + commit per batch",
        [
            ("raw aiokafka produce (acks=all)", f"{produce:,.0f}"),
            ("raw aiokafka consume + commit", f"{consume:,.0f}"),
            ("raw produce then consume (combined)", f"{raw:,.0f}"),
            ("pipeline, 100 events per transaction: writes", f"{batched[0]:,.0f}"),
            ("pipeline, 100 events per transaction: end to end", f"{batched[1]:,.0f}"),
            ("  same, consumer = metrics projection (one upsert per event)", f"{projected[1]:,.0f}"),
            (f"request-shaped, 1 event per transaction, {args.writers} writers: writes", f"{single[0]:,.0f}"),
            (f"request-shaped, 1 event per transaction, {args.writers} writers: end to end", f"{single[1]:,.0f}"),
        ],
        ("path", "events/s"),
    )
    print(f"\npipeline end to end {batched[1]:,.0f} events/s (target ≥ 3,000) = {batched[1] / raw:.0%} of raw "
          "produce+consume (target ≥ 25%)")
    print(f"one-event transactions from one process are bounded by the write path: {single[0]:,.0f} commits/s "
          f"(end to end {single[1]:,.0f}/s); replicas add write capacity")


if __name__ == "__main__":
    main()
