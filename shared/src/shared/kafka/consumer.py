"""The consumer runner: idempotent handlers, offsets committed after the DB.

For each partition batch the runner first tries one transaction for the whole
batch (claims + effects); if any handler fails it replays the batch event by
event with bounded retries, and parks an event that still fails on
``<topic>.dlq`` (recording the claim so it is never retried again). The Kafka
offset is committed only after the database transaction, so a crash
redelivers and the inbox turns the redelivery into a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.envelope import Envelope
from shared.events.inbox import claim
from shared.kafka.topics import dlq_of
from shared.observability import CONSUMER_LAG, EVENTS_CONSUMED, bind_ids
from shared.settings import QunyunSettings

log = structlog.get_logger("shared.kafka.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# Applies many fresh events of one type at once (in their order), in the poll's transaction.
BatchHandler = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]
ANY_TYPE = "*"


@dataclass
class ConsumerSpec:
    """What one named consumer listens to and how it handles each event type."""

    name: str
    topics: list[str]
    handlers: Mapping[str, Handler]
    max_attempts: int = 3
    batch_size: int = 500
    retry_base_delay: float = 0.05
    extra: dict[str, object] = field(default_factory=dict)
    # With batch handlers, one poll (every partition) is one transaction: one inbox
    # claim, consecutive events of a batched type handed over together, one commit.
    # A failing poll is replayed partition by partition with the per-event handlers.
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)

    def handler_for(self, event_type: str) -> Handler | None:
        """The handler of ``event_type``, or the catch-all, or None (ignored)."""
        return self.handlers.get(event_type) or self.handlers.get(ANY_TYPE)


class EventConsumer:
    """Runs one :class:`ConsumerSpec` in a consumer group ``<service>.<name>``."""

    def __init__(
        self,
        *,
        service: str,
        spec: ConsumerSpec,
        settings: QunyunSettings,
        session_factory: async_sessionmaker[AsyncSession],
        dlq_producer: AIOKafkaProducer,
    ) -> None:
        self.service = service
        self.spec = spec
        self.settings = settings
        self.sessions = session_factory
        self.dlq_producer = dlq_producer
        self.consumer_id = f"{service}.{spec.name}"
        self.namespace = settings.kafka_namespace
        self.consumer: AIOKafkaConsumer | None = None

    def _build_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *[self.namespace + topic for topic in self.spec.topics],
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.namespace + self.consumer_id,
            client_id=self.consumer_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            max_poll_interval_ms=300_000,
            request_timeout_ms=15_000,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, reconnecting on broker trouble."""
        backoff = 0.5
        while not stop.is_set():
            self.consumer = self._build_consumer()
            try:
                await self.consumer.start()
                backoff = 0.5
                log.info("consumer_started", consumer=self.consumer_id, topics=self.spec.topics)
                while not stop.is_set():
                    batches = await self.consumer.getmany(timeout_ms=500, max_records=self.spec.batch_size)
                    if self.spec.batch_handlers and batches and await self.process_poll(batches):
                        await self.consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
                        for tp, records in batches.items():
                            self._record_lag(tp, records[-1].offset + 1)
                        continue
                    for tp, records in batches.items():
                        await self.process_partition(tp, records)
                        await self.consumer.commit({tp: records[-1].offset + 1})
                        self._record_lag(tp, records[-1].offset + 1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_failed", consumer=self.consumer_id, error=repr(exc), retry_in=backoff)
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                try:
                    await self.consumer.stop()
                except Exception as exc:
                    log.debug("consumer_stop_failed", error=repr(exc))

    def _record_lag(self, tp: TopicPartition, next_offset: int) -> None:
        assert self.consumer is not None
        high = self.consumer.highwater(tp)
        if high is not None:
            CONSUMER_LAG.labels(self.service, self.spec.name, tp.topic, str(tp.partition)).set(
                max(high - next_offset, 0)
            )

    async def process_poll(self, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> bool:
        """Apply one poll in one transaction with the batch handlers; False (nothing applied) on any failure."""
        relevant: list[Envelope] = []
        for records in batches.values():
            for record in records:
                try:
                    envelope = Envelope.from_bytes(record.value)
                except Exception:  # the per-partition path parks it on the DLQ
                    return False
                if self.spec.handler_for(envelope.type) is not None or envelope.type in self.spec.batch_handlers:
                    relevant.append(envelope)
        if not relevant:
            return True
        try:
            async with unit_of_work(self.sessions) as session:
                fresh = await claim(session, consumer=self.consumer_id, event_ids=[e.id for e in relevant])
                applied = len(fresh)
                run: list[Envelope] = []
                for envelope in relevant:
                    if envelope.id not in fresh:
                        continue
                    fresh.discard(envelope.id)
                    if run and run[0].type != envelope.type:
                        await self._handle_run(session, run)
                        run = []
                    run.append(envelope)
                if run:
                    await self._handle_run(session, run)
            EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied").inc(applied)
            return True
        except Exception as exc:
            log.info("poll_failed_replaying_by_partition", consumer=self.consumer_id, error=repr(exc))
            return False

    async def _handle_run(self, session: AsyncSession, run: list[Envelope]) -> None:
        batch = self.spec.batch_handlers.get(run[0].type)
        if batch is not None:
            await batch(session, run)
            return
        for envelope in run:
            await self._handle(session, envelope)

    async def process_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Apply a batch of one partition's records, in order, exactly once."""
        parsed: list[tuple[ConsumerRecord, Envelope]] = []
        for record in records:
            try:
                parsed.append((record, Envelope.from_bytes(record.value)))
            except Exception as exc:  # unreadable: nothing to retry
                await self._dead_letter(record, None, f"unparseable envelope: {exc!r}")
        relevant = [(r, e) for r, e in parsed if self.spec.handler_for(e.type) is not None]
        if not relevant:
            return
        try:
            async with unit_of_work(self.sessions) as session:
                fresh = await claim(session, consumer=self.consumer_id, event_ids=[e.id for _, e in relevant])
                applied = len(fresh)
                for _, envelope in relevant:
                    # A batch may hold the same event twice (producer retry):
                    # handle each claimed id once.
                    if envelope.id in fresh:
                        fresh.discard(envelope.id)
                        await self._handle(session, envelope)
            EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied").inc(applied)
        except Exception as exc:
            log.info("batch_failed_replaying_one_by_one", consumer=self.consumer_id, error=repr(exc))
            for record, envelope in relevant:
                await self._process_one(record, envelope)

    async def _handle(self, session: AsyncSession, envelope: Envelope) -> None:
        handler = self.spec.handler_for(envelope.type)
        assert handler is not None
        bind_ids(request_id=str(envelope.id), trace_id=envelope.trace_id)
        await handler(session, envelope)

    async def _process_one(self, record: ConsumerRecord, envelope: Envelope) -> None:
        last_error = ""
        for attempt in range(self.spec.max_attempts):
            try:
                async with unit_of_work(self.sessions) as session:
                    if await claim(session, consumer=self.consumer_id, event_ids=[envelope.id]):
                        await self._handle(session, envelope)
                        EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied").inc()
                return
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "event_handler_failed", consumer=self.consumer_id, event_id=str(envelope.id),
                    event_type=envelope.type, attempt=attempt + 1, error=last_error,
                )
                await asyncio.sleep(self.spec.retry_base_delay * (2**attempt))
        await self._dead_letter(record, envelope, last_error)

    async def _dead_letter(self, record: ConsumerRecord, envelope: Envelope | None, error: str) -> None:
        headers = [
            *(record.headers or []),
            ("dlq-error", error[:1000].encode()),
            ("dlq-consumer", self.consumer_id.encode()),
            ("dlq-source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        await self.dlq_producer.send_and_wait(
            dlq_of(record.topic), value=record.value, key=record.key, headers=headers
        )
        if envelope is not None:
            async with unit_of_work(self.sessions) as session:
                await claim(session, consumer=self.consumer_id, event_ids=[envelope.id], outcome="dead_lettered")
        EVENTS_CONSUMED.labels(self.service, self.spec.name, "dead_lettered").inc()
        log.error("event_dead_lettered", consumer=self.consumer_id, topic=record.topic, error=error)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
