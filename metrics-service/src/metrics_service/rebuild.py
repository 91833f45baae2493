"""Drop every projection and rebuild it from the services' event logs and the broker.

Sources: each producing service's event log (``GET /internal/events``, its
published outbox rows, see ``shared.events.export``) and every topic the
broker still holds. The same event from both is one event id, so it is applied
once. The rebuild claims events under the live consumers' inbox names
(``metrics.activity``, ``metrics.domain``) after clearing their claims, so an
event the live worker applies meanwhile is applied once either way, and
redelivering everything once more changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import text

from metrics_service.config import MetricsSettings
from metrics_service.ingest.consumer import MetricsConsumer, specs
from shared.auth import TokenCodec
from shared.db import create_engine, create_session_factory
from shared.events import Envelope
from shared.kafka.producer import create_producer
from shared.kafka.topics import APP_ACTIVITY

log = structlog.get_logger("metrics_service.rebuild")

# The services whose outbox rows are events metrics consumes.
PRODUCERS = ("gateway", "identity", "campaign", "tagging", "messaging")
LOG_PAGE = 2000

PROJECTIONS = (
    "member_facts", "daily_counters", "member_days", "activity_hours", "member_openids", "period_facts",
    "registration_facts", "refund_facts", "checkin_facts", "channel_touches", "follow_facts", "community_facts",
    "community_member_facts", "day_bitmaps", "span_bitmaps", "period_bitmaps", "cohort_bitmaps", "member_cohorts",
    "channel_members", "channel_days", "community_bitmaps", "community_links", "period_sightings",
    "period_summaries", "retention_pairs", "lifecycle_buckets",
)


@dataclass
class RebuildResult:
    """What a rebuild read."""

    events: int
    from_logs: int = 0
    logs_missing: list[str] = field(default_factory=list)


Progress = Callable[[str, int, int], None]


async def rebuild(
    settings: MetricsSettings, *, progress: Progress | None = None, logs: bool = True, kafka: bool = True,
    http: httpx.AsyncClient | None = None,
) -> RebuildResult:
    """Truncate the projections and the metrics inbox, then replay the event logs and every topic."""
    engine = create_engine(settings.own_database_url(), pool_size=2, max_overflow=0)
    sessions = create_session_factory(engine)
    producer = create_producer(settings, client_id="metrics-rebuild-dlq")
    await producer.start()
    total = 0
    result = RebuildResult(events=0)
    try:
        async with sessions() as session:
            await session.execute(text(f"TRUNCATE {', '.join(PROJECTIONS)}"))
            await session.execute(text("DELETE FROM processed_events WHERE consumer LIKE 'metrics.%'"))
            await session.commit()
        runners = {
            spec.name: MetricsConsumer(
                service=settings.service_name, spec=spec, settings=settings, session_factory=sessions,
                dlq_producer=producer,
            )
            for spec in specs()
        }
        if logs:
            async with contextlib.AsyncExitStack() as stack:
                client = http
                if client is None:
                    client = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
                result.from_logs, result.logs_missing = await _replay_logs(runners, settings, progress, client)
        if kafka:
            for runner in runners.values():
                total += await _replay(runner, settings, progress)
    finally:
        await producer.stop()
        await engine.dispose()
    result.events = total + result.from_logs
    return result


async def _replay_logs(
    runners: dict[str, MetricsConsumer], settings: MetricsSettings, progress: Progress | None,
    http: httpx.AsyncClient,
) -> tuple[int, list[str]]:
    """Page through every producer's event log; returns events read and the services without a log."""
    tokens = TokenCodec(settings)
    missing: list[str] = []
    read = 0
    for service in PRODUCERS:
        after = 0
        while True:
            token = tokens.issue_internal(caller=settings.service_name, audience=service)
            try:
                answer = await http.get(
                    f"{settings.url_of(service)}/internal/events", params={"after": after, "limit": LOG_PAGE},
                    headers={"authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                log.warning("event_log_unreachable", service=service, error=repr(exc))
                missing.append(service)
                break
            if answer.status_code != 200:
                # 404: this service does not export its log (yet); anything else: not usable now.
                log.warning("event_log_unavailable", service=service, status=answer.status_code, after=after)
                missing.append(service)
                break
            page = answer.json()
            activity: list[tuple[ConsumerRecord, Envelope]] = []
            domain: list[tuple[ConsumerRecord, Envelope]] = []
            for item in page["items"]:
                envelope = Envelope.model_validate(item["envelope"])
                record = _record(settings.topic(item["topic"]), item["position"], item["key"], envelope)
                (activity if item["topic"] == APP_ACTIVITY else domain).append((record, envelope))
            await runners["activity"].apply_envelopes(activity)
            await runners["domain"].apply_envelopes(domain)
            read += len(page["items"])
            if progress is not None:
                progress(f"log.{service}", read, read)
            if page["next_after"] is None:
                break
            after = int(page["next_after"])
    return read, missing


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics``; metadata is asked until it is stable (a fresh client may see part of it)."""
    seen: set[TopicPartition] = set()
    for _ in range(5):
        await consumer.topics()  # refreshes the cluster metadata
        now = {TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()}
        if now and now == seen:
            break
        seen |= now
        await asyncio.sleep(0.2)
    return sorted(seen)


def _record(topic: str, position: int, key: str | None, envelope: Envelope) -> ConsumerRecord:
    """A stand-in Kafka record for an event read from a log (dead letters name its position)."""
    value = envelope.to_bytes()
    return ConsumerRecord(
        topic=topic, partition=-1, offset=position, timestamp=0, timestamp_type=0,
        key=key.encode() if key else None, value=value, checksum=None,
        serialized_key_size=len(key or ""), serialized_value_size=len(value), headers=(),
    )


async def _replay(runner: MetricsConsumer, settings: MetricsSettings, progress: Progress | None) -> int:
    """Read the consumer's topics from the beginning up to today's end offsets, batch by batch."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    read = 0
    try:
        partitions = await _partitions(consumer, [settings.kafka_namespace + t for t in runner.spec.topics])
        if not partitions:
            return 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        goal = sum(ends[tp] - starts[tp] for tp in partitions)
        remaining = set(partitions)
        idle: dict[TopicPartition, int] = dict.fromkeys(remaining, 0)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=runner.spec.batch_size)
            for tp in list(remaining):
                records = batches.get(tp, [])
                if records:
                    await runner.process_partition(tp, records)
                    read += len(records)
                    idle[tp] = 0
                    continue
                # Done when nothing came for a few polls and the position reached the (re-read) end.
                idle[tp] += 1
                if idle[tp] >= 3 and await consumer.position(tp) >= (await consumer.end_offsets([tp]))[tp]:
                    remaining.discard(tp)
            if progress is not None:
                progress(runner.spec.name, read, max(goal, read))
    finally:
        await consumer.stop()
    return read
