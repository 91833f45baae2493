"""The metrics consumers: the shared runner, with one batched claim and batched projection writes.

``shared.kafka.consumer.EventConsumer`` already claims a partition batch in
one statement, but calls the handler once per event. Here the claimed events
of a batch go to :func:`metrics_service.ingest.dispatch.apply` together, so a
batch of telemetry costs one claim and two upserts whatever its size. Failure
handling (replay one by one, bounded retries, dead letters) is the shared
runner's, unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity.handlers import ActivityItem, fast_activity
from metrics_service.ingest import dispatch
from shared.db import unit_of_work
from shared.events import Envelope
from shared.events.inbox import claim
from shared.kafka.consumer import ConsumerSpec, EventConsumer, _sleep
from shared.observability import EVENTS_CONSUMED
from shared.runtime import ServiceRuntime

BATCH_SIZE = 5000


async def _unused(session: AsyncSession, envelope: Envelope) -> None:  # pragma: no cover
    raise AssertionError("metrics events are applied through dispatch.apply")


def specs() -> list[ConsumerSpec]:
    """The two consumers (inbox names ``metrics.activity`` and ``metrics.domain``)."""
    handlers = dict.fromkeys(dispatch.HANDLED_TYPES, _unused)
    return [
        ConsumerSpec(name="activity", topics=dispatch.ACTIVITY_TOPICS, handlers=handlers, batch_size=BATCH_SIZE),
        ConsumerSpec(name="domain", topics=dispatch.DOMAIN_TOPICS, handlers=handlers, batch_size=1000),
    ]


class MetricsConsumer(EventConsumer):
    """An :class:`EventConsumer` whose batch goes to the projections in one call."""

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``: each poll's records of every partition in one transaction.

        The shared loop applies and commits partition by partition; here one
        poll (up to ``batch_size`` records over all assigned partitions) is one
        claim, one fold into the rollups and one offset commit, which is what
        makes a high telemetry rate cheap. Should that transaction fail, the
        partitions are applied one by one as the shared runner does.
        """
        backoff = 0.5
        while not stop.is_set():
            self.consumer = self._build_consumer()
            try:
                await self.consumer.start()
                backoff = 0.5
                _log().info("consumer_started", consumer=self.consumer_id, topics=self.spec.topics)
                while not stop.is_set():
                    batches = await self.consumer.getmany(timeout_ms=500, max_records=self.spec.batch_size)
                    if not batches:
                        continue
                    await self.process_poll(batches)
                    await self.consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
                    for tp, records in batches.items():
                        self._record_lag(tp, records[-1].offset + 1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log().warning("consumer_failed", consumer=self.consumer_id, error=repr(exc), retry_in=backoff)
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                try:
                    await self.consumer.stop()
                except Exception as exc:
                    _log().debug("consumer_stop_failed", error=repr(exc))

    async def process_poll(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply one poll: all partitions together, or partition by partition if that fails.

        Telemetry is read by :func:`~metrics_service.activity.handlers.fast_activity`
        (no pydantic); whatever it does not take is parsed in full. Should the
        batch fail, everything is parsed in full and replayed the shared way.
        """
        fast = self.spec.name == "activity"
        parsed: list[tuple[ConsumerRecord, Envelope | ActivityItem]] = []
        for records in batches.values():
            for record in records:
                item = fast_activity(record.value) if fast else None
                if item is not None:
                    parsed.append((record, item))
                    continue
                try:
                    parsed.append((record, Envelope.from_bytes(record.value)))
                except Exception as exc:  # unreadable: nothing to retry
                    await self._dead_letter(record, None, f"unparseable envelope: {exc!r}")
        try:
            await self._apply_all(parsed)
        except Exception as exc:
            self._log_replay(exc)
            full = [(r, e if isinstance(e, Envelope) else Envelope.from_bytes(r.value)) for r, e in parsed]
            for tp in batches:
                await self.apply_envelopes(
                    [(r, e) for r, e in full if r.topic == tp.topic and r.partition == tp.partition]
                )

    async def _apply_all(self, parsed: list[tuple[ConsumerRecord, Envelope | ActivityItem]]) -> None:
        relevant = [e for _, e in parsed if e.type in dispatch.HANDLED_TYPES]
        if not relevant:
            return
        async with unit_of_work(self.sessions) as session:
            fresh = await claim(session, consumer=self.consumer_id, event_ids=[e.id for e in relevant])
            todo: list[Envelope | ActivityItem] = []
            for envelope in relevant:
                if envelope.id in fresh:
                    fresh.discard(envelope.id)
                    todo.append(envelope)
            await dispatch.apply(session, todo)
        EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied").inc(len(todo))

    async def process_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Claim the batch once, apply every fresh event in order, commit once."""
        parsed: list[tuple[ConsumerRecord, Envelope]] = []
        for record in records:
            try:
                parsed.append((record, Envelope.from_bytes(record.value)))
            except Exception as exc:  # unreadable: nothing to retry
                await self._dead_letter(record, None, f"unparseable envelope: {exc!r}")
        await self.apply_envelopes(parsed)

    async def apply_envelopes(self, parsed: list[tuple[ConsumerRecord, Envelope]]) -> int:
        """Apply parsed events (from Kafka or an event log) exactly once; returns how many were new."""
        relevant = [(r, e) for r, e in parsed if e.type in dispatch.HANDLED_TYPES]
        if not relevant:
            return 0
        try:
            async with unit_of_work(self.sessions) as session:
                fresh = await claim(session, consumer=self.consumer_id, event_ids=[e.id for _, e in relevant])
                todo: list[Envelope] = []
                for _, envelope in relevant:
                    if envelope.id in fresh:  # a batch may hold one event twice
                        fresh.discard(envelope.id)
                        todo.append(envelope)
                await dispatch.apply(session, todo)
            EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied").inc(len(todo))
            return len(todo)
        except Exception as exc:
            self._log_replay(exc)
            for record, envelope in relevant:
                await self._process_one(record, envelope)
            return len(relevant)

    def _log_replay(self, exc: Exception) -> None:
        _log().info("batch_failed_replaying_one_by_one", consumer=self.consumer_id, error=repr(exc))

    async def _handle(self, session: AsyncSession, envelope: Envelope) -> None:
        await dispatch.apply(session, [envelope])


def _log() -> Any:
    from shared.kafka.consumer import log

    return log


async def run_consumers(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Background job of the worker: both metrics consumers until ``stop``."""
    assert runtime.producer is not None
    consumers = [
        MetricsConsumer(
            service=runtime.settings.service_name, spec=spec, settings=runtime.settings,
            session_factory=runtime.session_factory, dlq_producer=runtime.producer,
        )
        for spec in specs()
    ]
    runtime.extras["metrics_consumers"] = consumers
    await asyncio.gather(*(c.run(stop) for c in consumers))
