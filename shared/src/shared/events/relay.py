"""The outbox relay: publishes committed outbox rows in order, never drops one.

One relay at a time per service database publishes (a transaction-scoped
advisory lock), so per-key order holds across replicas. Each batch is sent in
id order, awaited with acks=all, then marked published in the same
transaction. A failure rolls the batch back and retries with backoff; a
redelivered duplicate is harmless because consumers dedupe on event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import Row, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.envelope import utcnow
from shared.events.outbox import NOTIFY_CHANNEL, OutboxMessage
from shared.observability import EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING

log = structlog.get_logger("shared.events.relay")

# Published rows are the service's event log (shared.events.export), kept this long by default
# (QUNYUN_EVENT_LOG_RETENTION_DAYS) so projections can be rebuilt after Kafka has dropped the events.
DEFAULT_RETENTION = timedelta(days=400)


# Keys whose partition is remembered per topic (member numbers: the active ones repeat).
_KEY_CACHE = 100_000

_CLAIM = text(
    "SELECT o.id, o.topic, o.key, o.type, CAST(o.event_id AS text), CAST(o.envelope AS text) AS payload "
    "FROM outbox o WHERE o.published_at IS NULL AND (SELECT pg_try_advisory_xact_lock(:k)) "
    "ORDER BY o.id LIMIT :n"
)
_MARK_PUBLISHED = text(
    "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(CAST(:ids AS bigint[]))"
)


class OutboxRelay:
    """Moves outbox rows to Kafka; run one per service process (only one publishes)."""

    def __init__(
        self,
        *,
        service: str,
        session_factory: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        listen_dsn: str | None,
        topic_prefix: str = "",
        batch_size: int = 2000,
        poll_interval: float = 1.0,
        max_backoff: float = 10.0,
        linger: float = 0.005,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.service = service
        self.retention = retention
        self.sessions = session_factory
        self.producer = producer
        self.listen_dsn = listen_dsn
        self.topic_prefix = topic_prefix
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        # After a wake-up, wait this long so the commits of concurrent
        # requests share one publish transaction instead of one each.
        self.linger = linger
        self.lock_key = zlib.crc32(f"outbox-relay:{service}".encode())
        self._wakeup = asyncio.Event()
        self._producer_started = False
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}
        self._key_partitions: dict[str, dict[bytes, int]] = {}

    def wake(self) -> None:
        """Ask the relay to look for new rows now."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set."""
        listener = asyncio.create_task(self._listen(stop), name=f"{self.service}-outbox-listen")
        backoff = 0.2
        last_cleanup = last_gauges = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    await self._ensure_producer()
                    # Cleared before reading, not before waiting: a commit that wakes the relay while a
                    # batch is out is seen by the next wait at once instead of after ``poll_interval``.
                    self._wakeup.clear()
                    while await self.publish_batch() >= self.batch_size and not stop.is_set():
                        pass
                    backoff = 0.2
                    if loop.time() - last_cleanup > 600:
                        await self._cleanup()
                        last_cleanup = loop.time()
                    if loop.time() - last_gauges > 5:
                        await self._update_gauges()
                        last_gauges = loop.time()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker or DB trouble: keep every row and retry
                    log.warning("outbox_publish_failed", error=repr(exc), retry_in=backoff)
                    await self._sleep(stop, backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                await self._wait(stop)
            await self._drain()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _drain(self, limit: float = 5.0) -> None:
        """On a graceful stop, publish what was committed until now (bounded; the rest waits in the table)."""
        if not self._producer_started:
            return
        try:
            async with asyncio.timeout(limit):
                while await self.publish_batch():
                    pass
        except Exception as exc:
            log.info("outbox_drain_incomplete", error=repr(exc))

    async def _ensure_producer(self) -> None:
        if not self._producer_started:
            await self.producer.start()
            self._producer_started = True

    async def stop_producer(self) -> None:
        """Flush and stop the producer."""
        if self._producer_started:
            await self.producer.stop()
            self._producer_started = False

    async def publish_batch(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        async with unit_of_work(self.sessions) as session:
            # The advisory lock and the claim in one round trip (no rows without the lock). The
            # envelope is sent as stored (jsonb → text), never decoded and re-encoded on the way.
            rows = (await session.execute(_CLAIM, {"k": self.lock_key, "n": self.batch_size})).all()
            if not rows:
                return 0
            await asyncio.wait_for(self._send(rows), timeout=30)
            await session.execute(_MARK_PUBLISHED, {"ids": [row.id for row in rows]})
            for topic, count in Counter(row.topic for row in rows).items():
                EVENTS_PUBLISHED.labels(self.service, topic).inc(count)
            return len(rows)

    async def _send(self, rows: Sequence[Row[*tuple[Any, ...]]]) -> None:
        """Send rows as one record batch per partition, in id order, and await the acks.

        Partitions come from the producer's own default partitioner (murmur2
        of the key, as Kafka's Java clients), so a member's events always land
        on the same partition; building batches directly avoids the per-message
        cost of ``send()``.
        """
        batches: dict[tuple[str, int], Any] = {}
        futures = []
        # Rows unpacked as tuples, the event id already text (the loop runs once per event).
        for _id, row_topic, row_key, type_, event_id, payload in rows:
            topic = self.topic_prefix + row_topic
            partitions = self._partitions.get(topic)
            if partitions is None:
                partitions = sorted(await self.producer.partitions_for(topic))
                self._partitions[topic] = partitions
            key = row_key.encode() if row_key is not None else None
            partition = self._partition_of(topic, key, partitions)
            batch = batches.get((topic, partition))
            headers = [("event-id", event_id.encode()), ("event-type", type_.encode())]
            value = payload.encode()
            if batch is None or batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                if batch is not None:  # full: ship it and start another for this partition
                    futures.append(await self.producer.send_batch(batch, topic, partition=partition))
                batch = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
                batches[(topic, partition)] = batch
        for (topic, partition), batch in batches.items():
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    def _partition_of(self, topic: str, key: bytes | None, partitions: list[int]) -> int:
        """The key's partition (murmur2 in pure Python is the costliest step per row: cached per key)."""
        if key is None:
            return int(self._partitioner(None, partitions, partitions))
        cache = self._key_partitions.setdefault(topic, {})
        partition = cache.get(key)
        if partition is None:
            if len(cache) >= _KEY_CACHE:
                cache.clear()
            partition = cache[key] = int(self._partitioner(key, partitions, partitions))
        return partition

    async def _cleanup(self) -> None:
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.published_at < utcnow() - self.retention)
            )

    async def _update_gauges(self) -> None:
        async with self.sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.published_at.is_(None)
                    )
                )
            ).one()
        OUTBOX_PENDING.labels(self.service).set(count)
        OUTBOX_OLDEST_AGE.labels(self.service).set(
            (utcnow() - oldest).total_seconds() if oldest else 0
        )

    async def _wait(self, stop: asyncio.Event) -> None:
        if self._wakeup.is_set():
            if self.linger:
                await asyncio.sleep(self.linger)
            return
        waiters = [asyncio.ensure_future(self._wakeup.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._wakeup.is_set() and self.linger:
            await asyncio.sleep(self.linger)

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN for commit-time notifications so publishing starts at once."""
        if not self.listen_dsn:
            return
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.listen_dsn)
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
                await stop.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_listen_failed", error=repr(exc))
                await self._sleep(stop, 2.0)
            finally:
                if conn is not None:
                    await conn.close()

