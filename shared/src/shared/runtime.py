"""Service runtime: one shape for every service's app and worker.

A service describes itself with a :class:`ServiceDefinition` (routers,
consumers, start-up hooks). :func:`create_service_app` turns it into a FastAPI
app whose lifespan builds the engine, token codec, HTTP client, outbox relay
and consumers; :func:`run_worker` runs the relay and consumers without HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from shared.auth import TokenCodec
from shared.db import create_driver_pool, create_engine, create_session_factory
from shared.errors import install_error_handlers
from shared.events.export import router as event_log_router
from shared.events.outbox import WAKE_KEY
from shared.events.relay import OutboxRelay
from shared.http import SERVER_KEEPALIVE_SECONDS, ServiceClient, create_http_client
from shared.kafka.consumer import ConsumerSpec, EventConsumer
from shared.kafka.producer import create_producer
from shared.kafka.topics import all_topics, ensure_topics
from shared.middleware import BodySizeLimitMiddleware
from shared.observability import (
    MULTIPROC_DIR_ENV,
    RequestContextMiddleware,
    configure_logging,
    metrics_endpoint,
)
from shared.openapi import document_problems
from shared.settings import ServiceSettings, to_plain_url

log = structlog.get_logger("shared.runtime")

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceDefinition:
    """What makes a service: its name, routes, consumers and lifecycle hooks."""

    name: str
    title: str
    routers: Sequence[APIRouter] = ()
    consumers: Callable[[ServiceRuntime], list[ConsumerSpec]] = lambda _: []
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    background: Sequence[Callable[[ServiceRuntime, asyncio.Event], Awaitable[None]]] = ()
    max_body_bytes: int = 1024 * 1024
    version: str = "0.1.0"
    # Extra readiness checks beyond the own database and the broker
    # (the gateway adds every service it routes to).
    readiness: Callable[[ServiceRuntime], Awaitable[dict[str, bool]]] | None = None
    # The gateway serves combined docs at these paths instead of its own.
    own_openapi: bool = True
    # Connections of the plain asyncpg pool for single-statement hot paths
    # (shared.db.create_driver_pool); 0: the service has none.
    driver_pool_size: int = 0


@dataclass
class ServiceRuntime:
    """Everything a running service holds; created in the lifespan, never at import."""

    settings: ServiceSettings
    definition: ServiceDefinition
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    tokens: TokenCodec
    http: httpx.AsyncClient
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    relay: OutboxRelay | None = None
    producer: AIOKafkaProducer | None = None
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    driver_pool: asyncpg.Pool | None = None
    _kafka_probe: AIOKafkaClient | None = None

    def client_for(self, target: str) -> ServiceClient:
        """A client for another service's internal API."""
        return ServiceClient(
            caller=self.settings.service_name, target=target,
            base_url=self.settings.url_of(target), tokens=self.tokens, client=self.http,
        )

    async def database_ready(self) -> bool:
        """Can we run a query within 2 seconds."""
        try:
            async with asyncio.timeout(2):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            log.warning("readiness_database_failed", error=repr(exc))
            return False

    async def broker_ready(self) -> bool:
        """Can we fetch cluster metadata within 2 seconds."""
        try:
            async with asyncio.timeout(2):
                if self._kafka_probe is None:
                    probe = AIOKafkaClient(
                        bootstrap_servers=self.settings.kafka_bootstrap_servers, request_timeout_ms=2000
                    )
                    await probe.bootstrap()
                    self._kafka_probe = probe
                await self._kafka_probe.fetch_all_metadata()
            return True
        except Exception as exc:
            log.warning("readiness_broker_failed", error=repr(exc))
            if self._kafka_probe is not None:
                with contextlib.suppress(Exception):
                    await self._kafka_probe.close()
                self._kafka_probe = None
            return False


def build_runtime(definition: ServiceDefinition, settings: ServiceSettings) -> ServiceRuntime:
    """Create (not start) the runtime's resources."""
    engine = create_engine(
        settings.own_database_url(), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    factory = create_session_factory(engine)
    factory.configure(info={"service": settings.service_name})
    return ServiceRuntime(
        settings=settings,
        definition=definition,
        engine=engine,
        session_factory=factory,
        tokens=TokenCodec(settings),
        http=create_http_client(),
    )


async def start_runtime(runtime: ServiceRuntime, *, with_worker: bool) -> None:
    """Run start-up hooks, then the relay and consumers when this process is a worker."""
    if runtime.definition.driver_pool_size:
        runtime.driver_pool = await create_driver_pool(
            to_plain_url(runtime.settings.own_database_url()), max_size=runtime.definition.driver_pool_size
        )
    for hook in runtime.definition.on_startup:
        await hook(runtime)
    if not with_worker:
        return
    settings = runtime.settings
    name = settings.service_name
    runtime.relay = OutboxRelay(
        service=name,
        session_factory=runtime.session_factory,
        producer=create_producer(settings, client_id=f"{name}-relay"),
        listen_dsn=to_plain_url(settings.own_database_url()),
        topic_prefix=settings.kafka_namespace,
        retention=timedelta(days=settings.event_log_retention_days),
    )
    # This process's commits wake its own relay instead of sending a NOTIFY.
    runtime.session_factory.configure(info={"service": name, WAKE_KEY: runtime.relay.wake})
    runtime.producer = create_producer(settings, client_id=f"{name}-dlq")
    runtime.consumers = [
        EventConsumer(
            service=name, spec=spec, settings=settings,
            session_factory=runtime.session_factory, dlq_producer=runtime.producer,
        )
        for spec in runtime.definition.consumers(runtime)
    ]
    runtime.tasks.append(asyncio.create_task(_run_worker_tasks(runtime), name=f"{name}-worker"))


async def _run_worker_tasks(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    if settings.create_topics:
        await ensure_topics(
            settings.kafka_bootstrap_servers, all_topics(settings.kafka_namespace),
            partitions=settings.topic_partitions, replication=settings.topic_replication,
            attempts=10_000,
        )
    assert runtime.producer is not None and runtime.relay is not None
    while not runtime.stop.is_set():
        try:
            await runtime.producer.start()
            break
        except Exception as exc:
            log.warning("dlq_producer_start_failed", error=repr(exc))
            await asyncio.sleep(1)
    jobs: list[Awaitable[None]] = [runtime.relay.run(runtime.stop)]
    jobs += [consumer.run(runtime.stop) for consumer in runtime.consumers]
    jobs += [job(runtime, runtime.stop) for job in runtime.definition.background]
    await asyncio.gather(*jobs)


async def stop_runtime(runtime: ServiceRuntime) -> None:
    """Stop background work, flush producers, close pools."""
    runtime.stop.set()
    for task in runtime.tasks:
        try:
            await asyncio.wait_for(task, timeout=10)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        except Exception as exc:
            log.warning("worker_task_failed", error=repr(exc))
    for hook in runtime.definition.on_shutdown:
        await hook(runtime)
    if runtime.relay is not None:
        with contextlib.suppress(Exception):
            await runtime.relay.stop_producer()
    if runtime.producer is not None:
        with contextlib.suppress(Exception):
            await runtime.producer.stop()
    if runtime._kafka_probe is not None:
        with contextlib.suppress(Exception):
            await runtime._kafka_probe.close()
    await runtime.http.aclose()
    if runtime.driver_pool is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runtime.driver_pool.close(), timeout=5)
    await runtime.engine.dispose()


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    """The FastAPI app of a service, with health, metrics and problem handlers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service=settings.service_name, level=settings.log_level, json_logs=settings.log_json)
        runtime = build_runtime(definition, settings)
        app.state.runtime = runtime
        await start_runtime(runtime, with_worker=settings.run_worker)
        # Everything loaded so far lives as long as the process: keep it out of
        # the collector's generations so full collections stay short (tail latency).
        gc.collect()
        gc.freeze()
        log.info("service_started", port=settings.port, worker=settings.run_worker)
        try:
            yield
        finally:
            await stop_runtime(runtime)

    docs = definition.own_openapi
    app = FastAPI(
        title=definition.title, version=definition.version, lifespan=lifespan,
        openapi_url="/openapi.json" if docs else None, docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    install_error_handlers(app)
    document_problems_of(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=definition.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(health_router())
    # Every service's published events, for rebuilding projections elsewhere (internal token only).
    app.include_router(event_log_router)
    for router in definition.routers:
        app.include_router(router)
    return app


def document_problems_of(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document the problem responses it really sends (shared.openapi)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_problems(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def health_router() -> APIRouter:
    """``/healthz`` (process up), ``/readyz`` (DB and broker), ``/metrics``."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        checks: dict[str, bool] = {}
        extra = runtime.definition.readiness
        results = await asyncio.gather(
            runtime.database_ready(), runtime.broker_ready(),
            extra(runtime) if extra is not None else _no_checks(),
        )
        checks["database"], checks["broker"] = results[0], results[1]
        checks.update(results[2])
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not-ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    router.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return router


async def _no_checks() -> dict[str, bool]:
    return {}


def serve(factory: str, settings: ServiceSettings) -> None:
    """Serve the app built by ``factory`` ("package.main:create_app") under uvicorn.

    ``settings.workers`` processes share the port; their relays take turns
    (the relay's advisory lock), their consumers share the partitions (one
    consumer group), and /metrics adds up every worker's counters.
    """
    if settings.workers > 1 and not os.environ.get(MULTIPROC_DIR_ENV):
        # Set before uvicorn spawns the workers, which import prometheus-client afresh.
        os.environ[MULTIPROC_DIR_ENV] = tempfile.mkdtemp(prefix=f"qunyun-{settings.service_name}-metrics-")
    uvicorn.run(
        factory, factory=True, workers=settings.workers, host=settings.host, port=settings.port,
        log_config=None, access_log=False, proxy_headers=False, server_header=False,
        timeout_graceful_shutdown=10, timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )


def run_worker(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    """Run only the relay and consumers (a separate worker process)."""

    async def main() -> None:
        configure_logging(service=f"{settings.service_name}-worker", level=settings.log_level,
                          json_logs=settings.log_json)
        runtime = build_runtime(definition, settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runtime.stop.set)
        await start_runtime(runtime, with_worker=True)
        await runtime.stop.wait()
        await stop_runtime(runtime)

    asyncio.run(main())
