"""Forwarding of ``/mp/v1`` and ``/admin/v1`` to the owning services.

The gateway checks the caller's token itself (no round trip), then calls the
owner with an internal token carrying the caller's identity. Services never
see member or staff tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from yarl import URL

from gateway.clients.upstream import REQUEST_HEADERS, RESPONSE_HEADERS
from gateway.routing_table import Route, match
from shared.auth import MemberPrincipal, StaffPrincipal, bearer_token
from shared.errors import NotFound, Unauthorized, Unavailable, UpstreamError
from shared.observability import ROUTE_LABEL_KEY, current_request_id, current_trace_id

log = structlog.get_logger("gateway.proxy")

router = APIRouter()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def authenticate(request: Request, route: Route) -> tuple[MemberPrincipal | None, StaffPrincipal | None]:
    """The caller's principal for ``route`` (the gateway's own routes use it too)."""
    if route.auth == "none":
        return None, None
    token = bearer_token(request)
    tokens = request.app.state.runtime.tokens
    if token is None:
        detail = "请先登录小程序。" if route.auth == "member" else "请先登录运营后台。"
        raise Unauthorized(detail, slug="token-missing")
    revocations = request.app.state.runtime.extras["revocations"]
    if route.auth == "member":
        member, issued_at = tokens.verify_member_token(token)
        if revocations.refuses("member_session", member.session_id, issued_at):
            raise Unauthorized("登录已失效，请重新登录。", slug="access-revoked", title="Session revoked")
        return member, None
    staff, issued_at = tokens.verify_staff_token(token)
    if revocations.refuses("staff", str(staff.staff_id), issued_at):
        raise Unauthorized("账号权限已变更或已停用，请重新登录。", slug="access-revoked", title="Access revoked")
    return None, staff


_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _upstream_url(base: str, scope: Mapping[str, Any]) -> URL:
    """The upstream URL with the path and query exactly as the client encoded them.

    Re-encoding the decoded path would turn an escaped ``%3F`` or ``%2F`` inside a
    segment into a query or a new segment upstream, i.e. another operation.
    """
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string") or b""
    # Escapes stay as they are (``%`` is safe); raw non-ASCII bytes and spaces get escaped.
    target = quote(raw_path, safe=_PATH_SAFE) + ("?" + quote(query, safe=_QUERY_SAFE) if query else "")
    return URL(base + target, encoded=True)


async def forward(request: Request) -> Response:
    """Send the request to the service that owns its path."""
    path: str = request.scope["path"]
    route = match(path)
    if route is None:
        raise NotFound(f"No API at {path}.", slug="unknown-route")
    request.scope[ROUTE_LABEL_KEY] = route.prefix
    if route.service == "gateway":
        # Answered by the gateway's own routes; only another method or a
        # sub-path falls through to here.
        raise NotFound(f"No API for {request.method} {path}.", slug="unknown-route")
    member, staff = authenticate(request, route)
    runtime = request.app.state.runtime
    upstream: aiohttp.ClientSession = runtime.extras["upstream"]
    token = runtime.extras["token_cache"].token_for(route.service, member=member, staff=staff)
    headers = {k: v for k, v in request.headers.items() if k in REQUEST_HEADERS}
    headers["authorization"] = f"Bearer {token}"
    headers["x-request-id"] = current_request_id() or ""
    headers["x-trace-id"] = current_trace_id() or ""
    url = _upstream_url(runtime.extras["upstream_urls"][route.service], request.scope)
    body = await request.body()
    try:
        async with upstream.request(
            request.method, url, data=body or None, headers=headers, allow_redirects=False,
        ) as upstream_response:
            content = await upstream_response.read()
            status = upstream_response.status
            out_headers = {k: v for k, v in upstream_response.headers.items() if k.lower() in RESPONSE_HEADERS}
    except TimeoutError as exc:
        raise UpstreamError("服务响应超时，请稍后再试。", slug="upstream-timeout", title="Upstream timed out") from exc
    except aiohttp.ClientError as exc:
        log.warning("upstream_unreachable", service=route.service, error=repr(exc))
        raise Unavailable("服务暂时不可用，请稍后再试。", slug="service-unavailable") from exc
    return Response(content=content, status_code=status, headers=out_headers)


# Plain Starlette routes: the proxy reads the raw request itself, so FastAPI's
# parameter solving and validation would only cost time on every call.
for prefix in ("/mp/v1/{path:path}", "/admin/v1/{path:path}"):
    router.add_route(prefix, forward, methods=METHODS, include_in_schema=False)
