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
from datetime import timedelta

import asyncpg
import orjson
import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.envelope import utcnow
from shared.events.outbox import NOTIFY_CHANNEL, OutboxMessage
from shared.observability import EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING

log = structlog.get_logger("shared.events.relay")

PUBLISHED_RETENTION = timedelta(days=3)


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
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 10.0,
        linger: float = 0.005,
    ) -> None:
        self.service = service
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
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

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
            got_lock = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self.lock_key}
            )
            if not got_lock:
                return 0
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.envelope,
                           OutboxMessage.type)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                return 0
            futures = []
            for row in rows:
                env = row.envelope
                headers = [
                    ("event-id", str(env["id"]).encode()),
                    ("event-type", row.type.encode()),
                ]
                if env.get("trace_id"):
                    headers.append(("trace-id", str(env["trace_id"]).encode()))
                futures.append(
                    await self.producer.send(
                        self.topic_prefix + row.topic,
                        value=orjson.dumps(env),
                        key=row.key.encode() if row.key is not None else None,
                        headers=headers,
                    )
                )
            await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(published_at=func.now(), attempts=OutboxMessage.attempts + 1)
            )
            for row in rows:
                EVENTS_PUBLISHED.labels(self.service, row.topic).inc()
            return len(rows)

    async def _cleanup(self) -> None:
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.published_at < utcnow() - PUBLISHED_RETENTION)
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
        self._wakeup.clear()
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

