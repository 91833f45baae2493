"""Errors render as RFC 9457 problem documents; unknown errors never leak a trace."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.errors import Conflict, install_error_handlers
from shared.middleware import BodySizeLimitMiddleware
from shared.observability import RequestContextMiddleware


class Item(BaseModel):
    name: str
    count: int


class _TooManyConnections(Exception):
    sqlstate = "53300"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=100)
    app.add_middleware(RequestContextMiddleware, service="test")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/pool-exhausted")
    async def pool_exhausted() -> None:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    @app.get("/too-many-connections")
    async def too_many_connections() -> None:
        raise OperationalError("SELECT 1", {}, _TooManyConnections())

    @app.post("/items")
    async def create(item: Item) -> Item:
        if item.name == "taken":
            raise Conflict("名称已被使用。", slug="name-taken")
        return item

    return app


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(), raise_app_exceptions=False),
                             base_url="http://t")


async def test_unknown_error_is_a_500_problem_with_request_id_and_no_trace():
    async with await _client() as client:
        response = await client.get("/boom", headers={"x-request-id": "req-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["request_id"] == "req-42" and body["type"].endswith("/internal-error")
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-42"


async def test_typed_errors_validation_and_size():
    async with await _client() as client:
        conflict = await client.post("/items", json={"name": "taken", "count": 1})
        invalid = await client.post("/items", json={"name": 3})
        malformed = await client.post("/items", content=b"{", headers={"content-type": "application/json"})
        too_big = await client.post("/items", content=b"x" * 101, headers={"content-type": "application/json"})
    assert conflict.status_code == 409 and conflict.json()["type"].endswith("/name-taken")
    assert conflict.json()["detail"] == "名称已被使用。"
    assert invalid.status_code == 422
    fields = {e["field"] for e in invalid.json()["errors"]}
    assert {"body.name", "body.count"} <= fields
    assert malformed.status_code == 400 and malformed.json()["type"].endswith("/malformed-json")
    assert too_big.status_code == 413


async def test_a_saturated_database_is_a_503_to_retry_not_a_500():
    async with await _client() as client:
        for path in ("/pool-exhausted", "/too-many-connections"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers["retry-after"] == "1"
            assert "请稍后重试" in response.json()["detail"]
            assert "QueuePool" not in response.text
