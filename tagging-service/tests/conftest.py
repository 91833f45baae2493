"""tagging-service in-process on a migrated database, with the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from shared.contracts import EventData, spec_of
from shared.events.envelope import Envelope
from tagging_service.config import TaggingSettings
from tagging_service.main import create_app


@dataclass
class Tagging:
    """A running tagging service and helpers to act as staff and as the other services."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: TaggingSettings
    headers: Callable[..., dict[str, str]]
    producer: AIOKafkaProducer

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def staff(self, *roles: str, staff_id: int = 1) -> dict[str, str]:
        return self.headers(self.settings, staff_roles=roles or ("operator",), staff_id=staff_id)

    async def publish(self, data: EventData, *, member_no: int | None, source: str = "campaign",
                      occurred_at: Any = None, event_id: Any = None) -> Envelope:
        """Put an event on its topic exactly as the producing service's relay does."""
        spec = spec_of(data)
        extra: dict[str, Any] = {}
        if occurred_at is not None:
            extra["occurred_at"] = occurred_at
        if event_id is not None:
            extra["id"] = event_id
        envelope = Envelope(type=spec.type, version=spec.version, source=source, member_no=member_no,
                            data=data.model_dump(mode="json"), **extra)
        key = str(member_no if member_no is not None else 0).encode()
        await self.producer.send_and_wait(self.settings.topic(spec.topic), envelope.to_bytes(), key=key)
        return envelope

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.runtime.session_factory() as session:
            return list((await session.execute(text(statement), params)).all())

    async def execute(self, statement: str, rows: list[dict[str, Any]] | dict[str, Any] | None = None) -> None:
        """Run a statement (once per row) and commit."""
        async with self.runtime.session_factory() as session:
            await session.execute(text(statement), rows or {})
            await session.commit()

    async def outbox_types(self) -> list[str]:
        return [r[0] for r in await self.sql("SELECT type FROM outbox ORDER BY id")]


@pytest.fixture
def tagging_factory(migrated_db, service_settings, internal_headers) -> Callable[..., Any]:
    """``async with tagging_factory(**settings) as t``."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Tagging]:
        values: dict[str, Any] = {"sweep_seconds": 0.5}
        values.update(overrides)
        settings = service_settings(TaggingSettings, await migrated_db("tagging"), **values)
        app = create_app(settings)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            async with _run_app(app) as client:
                yield Tagging(app=app, client=client, settings=settings, headers=internal_headers,
                              producer=producer)
        finally:
            await producer.stop()

    return make


@asynccontextmanager
async def _run_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan; each request gets its own copy of the lifespan state."""

    async def per_request_state(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": dict(scope.get("state") or {})}
        await app(scope, receive, send)

    async with LifespanManager(per_request_state, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
