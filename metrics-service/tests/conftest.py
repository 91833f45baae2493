"""metrics-service in-process on a migrated database and a private Kafka namespace."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from metrics_service.config import MetricsSettings
from metrics_service.ingest.consumer import specs
from metrics_service.main import create_app
from shared.events.envelope import Envelope
from shared.kafka.topics import all_topics, ensure_topics
from shared.testing.waiting import eventually

# The scenario module beside this file is imported by name (pytest runs in importlib mode).
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))


@dataclass
class Metrics:
    """A running metrics service, and a way to feed it events as the producers' relays do."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: MetricsSettings
    issue_headers: Callable[[], dict[str, str]]

    @property
    def headers(self) -> dict[str, str]:
        """A fresh internal token (a slow run on a loaded machine outlives one)."""
        return self.issue_headers()

    async def publish(self, events: list[tuple[str, str, Envelope]]) -> None:
        """Put events on their topics, keyed like the producers key them."""
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, linger_ms=5)
        await producer.start()
        try:
            batch = [
                await producer.send(self.settings.topic(topic), envelope.to_bytes(), key=key.encode())
                for topic, key, envelope in events
            ]
            await producer.flush()
            for future in batch:
                await future
        finally:
            await producer.stop()

    async def drained(self) -> None:
        """Wait until both consumers committed everything on their topics."""

        async def behind() -> int:
            lag = 0
            for spec in specs():
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.settings.kafka_bootstrap_servers, enable_auto_commit=False,
                    group_id=self.settings.kafka_namespace + f"metrics.{spec.name}",
                )
                await consumer.start()
                try:
                    await consumer.topics()  # loads the cluster metadata
                    tps = [
                        TopicPartition(self.settings.topic(t), p)
                        for t in spec.topics
                        for p in sorted(consumer.partitions_for_topic(self.settings.topic(t)) or ())
                    ]
                    ends = await consumer.end_offsets(tps)
                    for tp in tps:
                        lag += max(ends[tp] - (await consumer.committed(tp) or 0), 0)
                finally:
                    await consumer.stop()
            return lag

        # Done when nothing is left; stuck when the lag has not fallen for two minutes (a loaded
        # machine folds slowly, but a consumer that stopped never gets there).
        progress = {"lag": None, "at": time.monotonic()}

        def done_or_stuck(lag: int) -> bool:
            if progress["lag"] is None or lag < progress["lag"]:
                progress.update(lag=lag, at=time.monotonic())
            assert time.monotonic() - progress["at"] < 120, f"metrics consumers stuck {lag} events behind"
            return lag == 0

        await eventually(behind, done_or_stuck, timeout=900, interval=0.5)

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self.client.get(path, params=params, headers=self.headers)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()


@pytest.fixture
def metrics_factory(migrated_db, service_settings, internal_headers) -> Callable[..., Any]:
    """``async with metrics_factory() as m``."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Metrics]:
        settings = service_settings(MetricsSettings, await migrated_db("metrics"), **overrides)
        await ensure_topics(
            settings.kafka_bootstrap_servers, all_topics(settings.kafka_namespace), partitions=3
        )
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                yield Metrics(
                    app=app, client=client, settings=settings,
                    issue_headers=lambda: internal_headers(settings, staff_roles=("viewer",)),
                )

    return make
