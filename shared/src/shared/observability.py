"""Logs, request/trace ids and Prometheus metrics.

Every log line is JSON and carries the request id and trace id of the request
(or event) being handled. Ids come in as ``X-Request-ID`` / ``X-Trace-ID``
headers (or a W3C ``traceparent``), are generated when absent, are echoed on
the response and propagated to outgoing calls and emitted events.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import orjson
import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
TRACE_ID_HEADER = "x-trace-id"

# prometheus-client's switch for metrics shared by worker processes.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Scope key a handler that routes by itself (the gateway's proxy) sets to name
# its route in metrics and the access log: a bounded set, unlike raw paths.
ROUTE_LABEL_KEY = "qunyun.route"

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Gauges: with several worker processes (PROMETHEUS_MULTIPROC_DIR) each
# reports the same database-wide or partition-owned value; show the largest.
OUTBOX_PENDING = Gauge(
    "outbox_pending_events", "Outbox rows not yet published", ["service"], multiprocess_mode="max"
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row", ["service"],
    multiprocess_mode="max",
)
EVENTS_PUBLISHED = Counter("events_published_total", "Events published", ["service", "topic"])
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled by consumers", ["service", "consumer", "outcome"]
)
CONSUMER_LAG = Gauge(
    "consumer_lag_events", "Messages behind the partition end", ["service", "consumer", "topic", "partition"],
    multiprocess_mode="max",
)


def current_request_id() -> str | None:
    """The request id of the work in progress, if any."""
    return _request_id.get()


def current_trace_id() -> str | None:
    """The trace id of the work in progress, if any."""
    return _trace_id.get()


def bind_ids(*, request_id: str | None, trace_id: str | None) -> None:
    """Set the ids for the current task (used by consumers for each event)."""
    _request_id.set(request_id)
    _trace_id.set(trace_id)
    structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=trace_id)


def new_id() -> str:
    """A fresh request/trace id."""
    return uuid.uuid4().hex


def _clean(value: str | None) -> str | None:
    if value and _SAFE_ID.match(value):
        return value
    return None


def _trace_from_traceparent(value: str | None) -> str | None:
    # traceparent: version-traceid-spanid-flags
    if not value:
        return None
    parts = value.split("-")
    if len(parts) == 4 and len(parts[1]) == 32:
        return _clean(parts[1])
    return None


def configure_logging(*, service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """JSON logs through structlog, standard logging routed through it too."""
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json_logs
        else structlog.dev.ConsoleRenderer()
    )
    global _access_log
    _access_log = (
        _direct_json_logger("access", service=service, level=level, timestamper=timestamper)
        if json_logs
        else structlog.get_logger("access")
    )
    structlog.configure(
        # filter_by_level first: a disabled level costs one check, not the chain.
        processors=[structlog.stdlib.filter_by_level, *shared_processors,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _add_service(service),
            renderer,
        ],
    )
    handler = _StdoutHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates our request log line.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # WeChat API URLs carry the app secret and access tokens in the query
    # string: never log request lines of the HTTP clients.
    for name in ("httpx", "httpcore", "aiohttp.client"):
        logging.getLogger(name).setLevel(logging.WARNING)


# The access log writes a line per request. Through the standard-library
# bridge that line cost about a tenth of the gateway's CPU per proxied request;
# rendered straight to JSON it is the same line (same fields) for a fifth of it.
_access_log: Any = structlog.get_logger("access")


class _StdoutLines:
    """A structlog logger writing lines to whatever ``sys.stdout`` is now (test runners swap it)."""

    def msg(self, message: str) -> None:
        sys.stdout.write(message + "\n")

    debug = info = warning = error = critical = exception = msg


def _direct_json_logger(name: str, *, service: str, level: str, timestamper: Any) -> Any:
    """A structlog logger rendering JSON lines without the standard-library bridge."""

    def add_logger_name(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict["logger"] = name
        return event_dict

    return structlog.wrap_logger(
        _StdoutLines(),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_logger_name,
            timestamper,
            _add_service(service),
            structlog.processors.JSONRenderer(serializer=_orjson_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at emit time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _orjson_dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _add_service(service: str) -> Any:
    def processor(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return processor


class RequestContextMiddleware:
    """Pure ASGI middleware: ids in and out, one access log line, metrics by route."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = _clean(headers.get(REQUEST_ID_HEADER)) or new_id()
        trace_id = (
            _clean(headers.get(TRACE_ID_HEADER))
            or _trace_from_traceparent(headers.get("traceparent"))
            or request_id
        )
        structlog.contextvars.clear_contextvars()
        bind_ids(request_id=request_id, trace_id=trace_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", request_id.encode()))
                raw.append((b"x-trace-id", trace_id.encode()))
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            template = (
                scope.get(ROUTE_LABEL_KEY) or getattr(scope.get("route"), "path", None) or "unmatched"
            )
            method = scope["method"]
            status = status_holder["status"]
            HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, template).observe(elapsed)
            if template not in ("/healthz", "/metrics"):
                _access_log.info(
                    "request", method=method, path=scope["path"], route=template,
                    status=status, duration_ms=round(elapsed * 1000, 2),
                )


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus exposition: this process's metrics, or every worker's when there are several."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
