"""Drop every projection and rebuild it from the events the broker still holds.

The rebuild claims events under the live consumers' inbox names
(``metrics.activity``, ``metrics.domain``) after clearing their claims, so an
event the live worker applies meanwhile is applied once either way, and
redelivering everything once more changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from metrics_service.config import MetricsSettings
from metrics_service.ingest.consumer import MetricsConsumer, specs
from shared.db import create_engine, create_session_factory
from shared.kafka.producer import create_producer

PROJECTIONS = (
    "member_facts", "daily_counters", "member_days", "activity_hours", "member_openids", "period_facts",
    "registration_facts", "refund_facts", "checkin_facts", "channel_touches", "follow_facts", "community_facts",
    "community_member_facts",
)


@dataclass
class RebuildResult:
    """What a rebuild read."""

    events: int


Progress = Callable[[str, int, int], None]


async def rebuild(settings: MetricsSettings, *, progress: Progress | None = None) -> RebuildResult:
    """Truncate the projections and the metrics inbox, then replay every topic from its start."""
    engine = create_engine(settings.own_database_url(), pool_size=2, max_overflow=0)
    sessions = create_session_factory(engine)
    producer = create_producer(settings, client_id="metrics-rebuild-dlq")
    await producer.start()
    total = 0
    try:
        async with sessions() as session:
            await session.execute(text(f"TRUNCATE {', '.join(PROJECTIONS)}"))
            await session.execute(text("DELETE FROM processed_events WHERE consumer LIKE 'metrics.%'"))
            await session.commit()
        for spec in specs():
            runner = MetricsConsumer(
                service=settings.service_name, spec=spec, settings=settings, session_factory=sessions,
                dlq_producer=producer,
            )
            total += await _replay(runner, settings, progress)
    finally:
        await producer.stop()
        await engine.dispose()
    return RebuildResult(events=total)


async def _replay(runner: MetricsConsumer, settings: MetricsSettings, progress: Progress | None) -> int:
    """Read the consumer's topics from the beginning up to today's end offsets, batch by batch."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    read = 0
    try:
        await consumer.topics()  # loads the cluster metadata
        partitions: list[TopicPartition] = []
        for topic in runner.spec.topics:
            name = settings.kafka_namespace + topic
            for p in sorted(consumer.partitions_for_topic(name) or ()):
                partitions.append(TopicPartition(name, p))
        if not partitions:
            return 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        goal = sum(ends[tp] - starts[tp] for tp in partitions)
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=runner.spec.batch_size)
            for tp, records in batches.items():
                records = [r for r in records if r.offset < ends[tp]]
                if records:
                    await runner.process_partition(tp, records)
                    read += len(records)
                if (await consumer.position(tp)) >= ends[tp]:
                    remaining.discard(tp)
            if progress is not None:
                progress(runner.spec.name, read, goal)
    finally:
        await consumer.stop()
    return read
