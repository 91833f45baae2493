"""``POST /mp/v1/activity``: the mini-program records what a member did, in batches.

Answered by the gateway itself (no upstream): the member token is checked as
the proxy checks it, the batch is size-checked, rate-limited per member, and
each item validated on its own. Accepted items are written to the gateway's
outbox as ``app.activity.recorded`` events (keyed by member number) in one
autocommit statement on the driver pool, together with the dedupe claims of
their client ``event_id`` s, before the 202: a broker outage loses nothing
(the relay publishes when it is back) and a retried batch publishes nothing
new.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.activity import repository
from gateway.activity.events import event_rows
from gateway.activity.ratelimit import ItemRateLimiter
from gateway.activity.schemas import MAX_BODY_BYTES, ActivityAccepted, ActivityBatch, RejectedItem, Validated
from gateway.activity.validation import check_item, parse_batch
from gateway.routes.proxy import authenticate
from gateway.routing_table import match
from shared.errors import PayloadTooLarge, ServiceError, TooManyRequests, Unavailable

log = structlog.get_logger("gateway.activity")

PATH = "/mp/v1/activity"
_ROUTE = match(PATH)
assert _ROUTE is not None and _ROUTE.service == "gateway", "the routing table must keep /mp/v1/activity"

router = APIRouter(tags=["activity"])


class UnsupportedMediaType(ServiceError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


def limiter_of(request: Request) -> ItemRateLimiter:
    """The process's limiter (built on first use from the settings)."""
    extras = request.app.state.runtime.extras
    limiter: ItemRateLimiter | None = extras.get("activity_limiter")
    if limiter is None:
        limiter = extras["activity_limiter"] = ItemRateLimiter(
            request.app.state.runtime.settings.activity_items_per_minute
        )
    return limiter


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"每次上报的内容不能超过 {MAX_BODY_BYTES // 1024} KB。", slug="activity-too-large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"每次上报的内容不能超过 {MAX_BODY_BYTES // 1024} KB。", slug="activity-too-large")
        chunks.append(chunk)
    return b"".join(chunks)


_BATCH_SCHEMA = ActivityBatch.model_json_schema(ref_template="#/components/schemas/{model}")
# Component schemas this route refers to (main.py adds them to the gateway's document).
SCHEMAS: dict[str, Any] = {
    **_BATCH_SCHEMA.pop("$defs", {}),
    "ActivityBatch": _BATCH_SCHEMA,
}


@router.post(
    PATH,
    status_code=202,
    response_model=ActivityAccepted,
    summary="Record mini-program activity (batch)",
    description=(
        "Member token. At most 100 items and 64 KB per request (more: 422 / 413). Each item is checked on "
        "its own: accepted items are recorded durably before the answer and published as "
        "`app.activity.recorded`; the others are listed in `rejected` with their index and reason. An item's "
        "`event_id` is its dedupe key per member: a retried batch is recorded once (and answers the same "
        "`accepted`). Over the per-member rate limit (items per minute, `GATEWAY_ACTIVITY_ITEMS_PER_MINUTE`, "
        "default 600; a token bucket kept by each gateway process): 429 with Retry-After, nothing recorded."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActivityBatch"}}},
        },
        "security": [{"memberToken": []}],
    },
)
async def record_activity(request: Request) -> Response:
    """Validate, rate-limit and durably record one batch of activity items."""
    assert _ROUTE is not None
    member, _ = authenticate(request, _ROUTE)
    assert member is not None
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("请以 JSON 格式上报。", slug="unsupported-media-type")
    body = await _read_body(request)
    events = parse_batch(body)
    wait = limiter_of(request).take(member.member_no, len(events))
    if wait > 0:
        raise TooManyRequests(
            "上报过于频繁，请稍后再试。", slug="activity-rate-limited",
            headers={"Retry-After": ItemRateLimiter.retry_after(wait)},
        )
    # The shared clock: a test system that moves time moves the 24 h / 5 min window with it.
    now = request.app.state.runtime.extras["clock"].now()
    accepted: list[Validated] = []
    rejected: list[RejectedItem] = []
    for index, raw in enumerate(events):
        result = check_item(index, raw, now)
        if isinstance(result, Validated):
            accepted.append(result)
        else:
            rejected.append(result)
    ids, rows = event_rows(member.member_no, accepted)
    runtime = request.app.state.runtime
    try:
        written = await repository.record_activity(
            runtime.driver_pool, member_no=member.member_no, client_event_ids=ids, rows=rows,
            notify=runtime.relay is None,
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        log.warning("activity_not_recorded", member_no=member.member_no, items=len(rows), error=repr(exc))
        raise Unavailable("暂时无法记录，请稍后重试。", slug="activity-not-recorded") from exc
    if written and runtime.relay is not None:
        runtime.relay.wake()
    answer = {
        "accepted": len(accepted),
        "duplicates": len(accepted) - written,
        "rejected": [item.model_dump() for item in rejected],
    }
    return Response(orjson.dumps(answer), status_code=202, media_type="application/json")
