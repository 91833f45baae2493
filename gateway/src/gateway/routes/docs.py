"""Combined API documentation: the public paths of every service in one OpenAPI."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.config import ROUTED_SERVICES
from gateway.routing_table import match

docs_router = APIRouter(include_in_schema=False)
PUBLIC_PREFIXES = ("/mp/v1/", "/admin/v1/")
DOCUMENT_TIMEOUT = 20.0


def _routed_to(path: str, service: str) -> bool:
    """True when the gateway sends ``path`` to ``service`` (templates such as
    ``/admin/v1/members/{member_no}/tags`` match like concrete paths)."""
    route = match(path)
    return route is not None and route.service == service


def merge_openapi(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merge services' documents; schema names are prefixed by service to stay unique.

    A service's path is published only when the routing table sends it to that
    service (a path a service still documents but no longer owns, such as one
    that moved, would otherwise shadow its new owner or advertise a route the
    gateway never forwards there). ``gateway`` is the gateway's own document.
    """
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Qunyun API", "version": "1"},
        "paths": {},
        "components": {"schemas": {}},
    }
    for service, document in documents.items():
        raw = orjson.dumps(document).decode().replace(
            '"#/components/schemas/', f'"#/components/schemas/{service}.'
        )
        document = orjson.loads(raw)
        for path, item in document.get("paths", {}).items():
            if path.startswith(PUBLIC_PREFIXES) and _routed_to(path, service):
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.setdefault("tags", [service])
                merged["paths"][path] = item
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            merged["components"]["schemas"][f"{service}.{name}"] = schema
    return merged


@docs_router.get("/openapi.json")
async def combined_openapi(request: Request) -> JSONResponse:
    """The public API of every reachable service."""
    runtime = request.app.state.runtime
    client = runtime.http

    async def fetch(name: str) -> tuple[str, dict[str, Any] | None]:
        # A service builds its document on the first ask (seconds on a busy machine, then cached):
        # a short timeout would silently publish the API without it.
        try:
            response = await client.get(runtime.settings.url_of(name) + "/openapi.json", timeout=DOCUMENT_TIMEOUT)
            return name, response.json() if response.status_code == 200 else None
        except Exception:
            return name, None

    results = await asyncio.gather(*(fetch(name) for name in ROUTED_SERVICES))
    documents = {"gateway": request.app.openapi()} | {name: doc for name, doc in results if doc is not None}
    merged = merge_openapi(documents)
    merged["components"]["securitySchemes"] = request.app.openapi().get("components", {}).get("securitySchemes", {})
    return JSONResponse(merged)


@docs_router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Interactive documentation of the combined API."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Qunyun API")
