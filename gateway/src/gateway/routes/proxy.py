"""Forwarding of ``/mp/v1`` and ``/admin/v1`` to the owning services.

The gateway checks the caller's token itself (no round trip), then calls the
owner with an internal token carrying the caller's identity. Services never
see member or staff tokens.
"""

from __future__ import annotations

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.clients.upstream import REQUEST_HEADERS, RESPONSE_HEADERS
from gateway.routing_table import Route, match
from shared.auth import MemberPrincipal, StaffPrincipal, bearer_token
from shared.errors import NotFound, Unauthorized, Unavailable, UpstreamError

log = structlog.get_logger("gateway.proxy")

router = APIRouter()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _authenticate(request: Request, route: Route) -> tuple[MemberPrincipal | None, StaffPrincipal | None]:
    if route.auth == "none":
        return None, None
    token = bearer_token(request)
    tokens = request.app.state.runtime.tokens
    if token is None:
        detail = "请先登录小程序。" if route.auth == "member" else "请先登录运营后台。"
        raise Unauthorized(detail, slug="token-missing")
    if route.auth == "member":
        return tokens.verify_member(token), None
    return None, tokens.verify_staff(token)


async def forward(request: Request) -> Response:
    """Send the request to the service that owns its path."""
    route = match(request.url.path)
    if route is None:
        raise NotFound(f"No API at {request.url.path}.", slug="unknown-route")
    member, staff = _authenticate(request, route)
    runtime = request.app.state.runtime
    upstream: httpx.AsyncClient = runtime.extras["upstream"]
    token = runtime.extras["token_cache"].token_for(route.service, member=member, staff=staff)
    headers = {k: v for k, v in request.headers.items() if k in REQUEST_HEADERS}
    headers["authorization"] = f"Bearer {token}"
    rid = request.scope.get("state", {}).get("request_id")
    if rid:
        headers["x-request-id"] = rid
    url = runtime.settings.url_of(route.service) + request.url.path
    body = await request.body()
    try:
        upstream_response = await upstream.request(
            request.method, url, params=request.query_params.multi_items(), content=body, headers=headers
        )
    except httpx.TimeoutException as exc:
        raise UpstreamError("服务响应超时，请稍后再试。", slug="upstream-timeout", title="Upstream timed out") from exc
    except httpx.TransportError as exc:
        log.warning("upstream_unreachable", service=route.service, error=repr(exc))
        raise Unavailable("服务暂时不可用，请稍后再试。", slug="service-unavailable") from exc
    out_headers = {k: v for k, v in upstream_response.headers.items() if k in RESPONSE_HEADERS}
    return Response(content=upstream_response.content, status_code=upstream_response.status_code, headers=out_headers)


for prefix in ("/mp/v1/{path:path}", "/admin/v1/{path:path}"):
    router.add_api_route(prefix, forward, methods=METHODS, include_in_schema=False)
