"""The access log line: rendered directly, same fields as every other JSON log line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from shared import observability


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_access_line_matches_the_bridged_format(capsys) -> None:
    observability.configure_logging(service="gateway", level="INFO", json_logs=True)
    observability.bind_ids(request_id="req-1", trace_id="trace-1")
    observability._access_log.info("request", method="GET", path="/x", route="/x", status=200, duration_ms=1.5)
    structlog.get_logger("access").info("request", method="GET", path="/x", route="/x", status=200,
                                        duration_ms=1.5)
    direct, bridged = _lines(capsys.readouterr().out)
    assert direct.pop("timestamp") and bridged.pop("timestamp")
    assert direct == bridged
    assert direct["logger"] == "access" and direct["service"] == "gateway" and direct["level"] == "info"
    assert direct["request_id"] == "req-1" and direct["trace_id"] == "trace-1"


def test_access_line_obeys_the_level(capsys) -> None:
    observability.configure_logging(service="gateway", level="WARNING", json_logs=True)
    observability._access_log.info("request", method="GET", path="/x", route="/x", status=200, duration_ms=1.0)
    assert capsys.readouterr().out == ""
