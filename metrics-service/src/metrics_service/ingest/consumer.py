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
import contextlib
from collections.abc import Mapping
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity.handlers import ActivityItem, fast_activity
from metrics_service.ingest import dispatch
from shared.db import unit_of_work
from shared.events import Envelope
from shared.events.inbox import claim
from shared.kafka.consumer import ConsumerSpec, EventConsumer, _sleep
from shared.observability import EVENTS_CONSUMED
from shared.runtime import ServiceRuntime

BATCH_SIZE = 20000
# The shared inbox claim (``shared.events.inbox.claim``) on the text of the ids: the telemetry fast path keeps an
# event's id as the text it arrived as (canonical, checked), not a UUID object (a sixth of its cost per event).
_CLAIM_TEXT = text(
    """
    INSERT INTO processed_events (consumer, event_id, outcome)
    SELECT :consumer, ids.event_id, 'applied' FROM unnest(CAST(:event_ids AS uuid[])) AS ids(event_id)
    ON CONFLICT (consumer, event_id) DO NOTHING
    RETURNING event_id::text
    """
)


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

        Polls are pipelined: while poll N's transaction runs in the database,
        poll N+1 is fetched and parsed here; N+1's transaction starts only
        after N committed and N's offsets were committed, so the order of
        transactions and offsets is the unpipelined one.
        """
        backoff = 0.5
        while not stop.is_set():
            self.consumer = self._build_consumer()
            running: asyncio.Task[None] | None = None
            try:
                await self.consumer.start()
                backoff = 0.5
                _log().info("consumer_started", consumer=self.consumer_id, topics=self.spec.topics)
                running_batches: dict[TopicPartition, list[ConsumerRecord]] = {}
                while not stop.is_set():
                    batches = await self.consumer.getmany(timeout_ms=500, max_records=self.spec.batch_size)
                    parsed = await self.parse_poll(batches) if batches else None
                    if running is not None:
                        await running
                        running = None
                        await self._commit(running_batches)
                    if parsed is not None:
                        running_batches = batches
                        running = asyncio.ensure_future(self.apply_poll(batches, parsed))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log().warning("consumer_failed", consumer=self.consumer_id, error=repr(exc), retry_in=backoff)
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if running is not None:  # stopping: let the transaction finish, its offsets are redelivered
                    with contextlib.suppress(Exception):
                        await running
                try:
                    await self.consumer.stop()
                except Exception as exc:
                    _log().debug("consumer_stop_failed", error=repr(exc))

    async def _commit(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self.consumer is not None  # set by run() before any poll
        await self.consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        for tp, records in batches.items():
            self._record_lag(tp, records[-1].offset + 1)

    async def parse_poll(
        self, batches: Mapping[TopicPartition, list[ConsumerRecord]]
    ) -> list[tuple[ConsumerRecord, Envelope | ActivityItem]]:
        """Read a poll's records: telemetry by the fast path, anything else (or unusual) in full.

        Telemetry is read by :func:`~metrics_service.activity.handlers.fast_activity`
        (no pydantic); whatever it does not take is parsed in full; what cannot
        be read at all is dead-lettered here.
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
        return parsed

    async def apply_poll(
        self,
        batches: Mapping[TopicPartition, list[ConsumerRecord]],
        parsed: list[tuple[ConsumerRecord, Envelope | ActivityItem]],
    ) -> None:
        """Apply a parsed poll in one transaction; if that fails, parse everything in full, replay the shared way."""
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
            ids = [e.id if isinstance(e, ActivityItem) else str(e.id) for e in relevant]
            result = await session.execute(_CLAIM_TEXT, {"consumer": self.consumer_id, "event_ids": ids})
            fresh = set(result.scalars().all())
            todo: list[Envelope | ActivityItem] = []
            for envelope, event_id in zip(relevant, ids, strict=True):
                if event_id in fresh:
                    fresh.discard(event_id)  # a poll may hold one event twice
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
