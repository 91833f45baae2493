"""shared.fields keeps what PostgreSQL refuses out; shared.openapi documents the problems services send."""

from __future__ import annotations

from datetime import time
from typing import Annotated

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError

from shared.errors import install_error_handlers
from shared.fields import BIGINT_MAX, IdPath, MemberNo, PatchModel, Text, TextQuery
from shared.observability import RequestContextMiddleware
from shared.openapi import LOCAL_TIME_PATTERN, document_problems


class Rename(PatchModel):
    nullable = frozenset({"note"})

    name: Annotated[Text, Field(min_length=1, max_length=10)] | None = None
    note: Text | None = None
    owner: MemberNo | None = None


class Plan(BaseModel):
    deadline: time = time(22)


class _PgError(Exception):
    sqlstate = "22021"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="test")

    @app.patch("/things/{thing_id}")
    async def rename(thing_id: IdPath, body: Rename, q: TextQuery = None) -> dict[str, object]:
        return body.changes()

    @app.get("/plan")
    async def plan() -> Plan:
        return Plan()

    @app.get("/db")
    async def db() -> None:
        raise DBAPIError("INSERT …", {"phone": "13800000000"}, _PgError("invalid byte sequence"))

    return app


async def _call(method: str, url: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, url, **kwargs)  # type: ignore[arg-type]


def _fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"]: e["code"] for e in response.json()["errors"]}


async def test_ids_are_bounded_to_bigint():
    assert _fields(await _call("PATCH", f"/things/{BIGINT_MAX + 1}", json={})) == {"path.thing_id": "less_than_equal"}
    assert _fields(await _call("PATCH", "/things/0", json={})) == {"path.thing_id": "greater_than_equal"}
    assert (await _call("PATCH", f"/things/{BIGINT_MAX}", json={})).status_code == 200
    assert _fields(await _call("PATCH", "/things/1", json={"owner": 2**63})) == {"body.owner": "less_than_equal"}


@pytest.mark.parametrize("raw", [b'{"name": "a\\u0000"}', b'{"name": "\\ud800"}', b'{"name": "x\\udfffy"}'])
async def test_text_refuses_nul_and_lone_surrogates(raw):
    codes = _fields(await _call("PATCH", "/things/1", content=raw, headers={"content-type": "application/json"}))
    assert codes["body.name"] in {"text_nul", "text_surrogate"}
    # A surrogate *pair* is an ordinary character (U+1F600).
    ok = await _call("PATCH", "/things/1", content=b'{"name": "\\ud83d\\ude00"}',
                     headers={"content-type": "application/json"})
    assert ok.status_code == 200 and ok.json() == {"name": "\U0001f600"}


async def test_text_query_parameters_are_checked_too():
    assert _fields(await _call("PATCH", "/things/1?q=%00", json={})) == {"query.q": "text_nul"}


async def test_patch_omitted_is_unchanged_and_null_only_where_nullable():
    assert (await _call("PATCH", "/things/1", json={})).json() == {}
    assert (await _call("PATCH", "/things/1", json={"note": None})).json() == {"note": None}
    assert _fields(await _call("PATCH", "/things/1", json={"name": None, "owner": None})) == {
        "body.name": "null_not_allowed", "body.owner": "null_not_allowed",
    }


def test_patch_schema_documents_non_nullable_fields_without_null():
    properties = Rename.model_json_schema()["properties"]
    assert properties["name"] == {"type": "string", "minLength": 1, "maxLength": 10, "title": "Name"}
    assert {"type": "null"} in properties["note"]["anyOf"]


def test_every_operation_documents_its_problems_and_local_times():
    document = document_problems(_app().openapi())
    patch = document["paths"]["/things/{thing_id}"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"} <= set(patch)
    problem = {"$ref": "#/components/schemas/Problem"}
    assert patch["422"]["content"] == {"application/problem+json": {"schema": problem}}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    get = document["paths"]["/plan"]["get"]["responses"]
    assert "413" not in get and "200" in get
    deadline = document["components"]["schemas"]["Plan"]["properties"]["deadline"]
    assert "format" not in deadline and deadline["pattern"] == LOCAL_TIME_PATTERN


async def test_a_database_error_is_a_logged_problem_without_parameters():
    with structlog.testing.capture_logs() as logs:
        response = await _call("GET", "/db", headers={"x-request-id": "req-db-1"})
    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == "req-db-1" and "13800000000" not in response.text
    assert response.headers["x-request-id"] == "req-db-1"
    entry = next(e for e in logs if e["event"] == "database_error")
    assert entry["sqlstate"] == "22021"
