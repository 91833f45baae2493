"""Two real services wired for event tests: the gateway produces, metrics consumes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from metrics_service.config import MetricsSettings
from metrics_service.main import create_app as create_metrics
from metrics_service.overview.models import DailyCounter
from shared.contracts.identity import MemberFollowed
from shared.db import unit_of_work
from shared.events.outbox import emit
from shared.runtime import ServiceRuntime


@dataclass
class Pair:
    """A producing and a consuming service, running in-process."""

    producer_app: FastAPI
    consumer_app: FastAPI
    consumer_client: httpx.AsyncClient
    consumer_settings: MetricsSettings

    @property
    def producer(self) -> ServiceRuntime:
        return self.producer_app.state.runtime  # type: ignore[no-any-return]

    @property
    def consumer(self) -> ServiceRuntime:
        return self.consumer_app.state.runtime  # type: ignore[no-any-return]

    async def emit_follow(self, member_no: int, seq: int) -> None:
        """One committed write that emits one event (seq travels in the scene)."""
        async with unit_of_work(self.producer.session_factory) as session:
            await emit(
                session,
                MemberFollowed(member_no=member_no, appid="wxoa", openid=f"o{member_no}", scene=str(seq),
                               followed_at=datetime.now(UTC)),
                member_no=member_no,
            )
        assert self.producer.relay is not None
        self.producer.relay.wake()

    async def follows_counted(self) -> int:
        """The consumer's effect: the 'follows' counter summed over days."""
        async with self.consumer.session_factory() as session:
            rows = await session.scalars(select(DailyCounter).where(DailyCounter.kind == "follows"))
            return sum(row.value for row in rows)


@pytest.fixture
def service_pair(migrated_db, service_settings, running_app) -> Callable[..., Any]:
    """``async with service_pair(bootstrap=...) as pair``: gateway → Kafka → metrics."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Pair]:
        producer_settings = service_settings(GatewaySettings, await migrated_db("gateway"), **overrides)
        consumer_settings = service_settings(MetricsSettings, await migrated_db("metrics"), **overrides)
        producer_app = create_gateway(producer_settings)
        consumer_app = create_metrics(consumer_settings)
        async with running_app(producer_app), running_app(consumer_app) as consumer_client:
            yield Pair(producer_app, consumer_app, consumer_client, consumer_settings)

    return make
