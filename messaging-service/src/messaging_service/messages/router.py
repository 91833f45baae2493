"""Sends (``POST /internal/messages`` for services, ``POST /admin/v1/messages`` for staff) and the delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from messaging_service.deps import ClockDep, DispatcherDep, RuntimeDep
from messaging_service.messages import repository
from messaging_service.messages.fast import FastPath
from messaging_service.messages.models import Message
from messaging_service.messages.schemas import (
    AttemptRead,
    MessageCreate,
    MessageDetail,
    MessagePage,
    MessageRead,
    Status,
)
from messaging_service.messages.service import request_message
from shared.auth import CurrentStaff, InternalCallerDep, require_roles
from shared.db import unit_of_work
from shared.errors import NotFound
from shared.fields import IdPath, IdQuery, MemberNoQuery, Text, TextQuery
from shared.routing import PageDep, SessionDep, cursor_int, encode_cursor

admin_router = APIRouter(prefix="/admin/v1/messages", tags=["messages"])
internal_router = APIRouter(prefix="/internal/messages", tags=["internal"])

SEND = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")
IdempotencyKey = Annotated[
    Text, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                 description="Same key and body: the first result; same key, other body: 422")
]



async def _send_fast(runtime: RuntimeDep, clock: ClockDep, body: MessageCreate, *, source: str, key: str
                     ) -> MessageRead | None:
    """The driver-pool path (messages/fast.py); None when the ORM path must answer."""
    fast: FastPath | None = runtime.extras.get("fast")
    if fast is None or body.send_at is not None:
        return None
    purpose = await fast.purpose(body.purpose)
    if purpose is None:
        return None
    channels = await fast.channels(purpose, body.data)
    if not all(channels.usable):  # a 422 to name the field, or a channel to skip: the ORM path says which
        return None
    now = clock.now()
    result = await fast.send_new(member_no=body.member_no, purpose_name=body.purpose, data=body.data,
                                 source=source, key=key, now=now, purpose=purpose, plan_of=channels)
    if result is None:
        return None
    routed, finished = result
    if finished.message is not None:
        return MessageRead.model_validate(finished.message)
    channel = channels.kinds[routed.index] if routed.index is not None else None
    # Built from values the routing statement and the recorder answered (not validated again: a send's answer is
    # encoded on every plain send, and the route's answer for the same message is the same JSON).
    return MessageRead.model_construct(
        id=routed.message_id, member_no=body.member_no, purpose=purpose.name,
        message_class=purpose.message_class,  # type: ignore[arg-type]
        status=finished.status,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        template_id=channels.template_ids[routed.index] if routed.index is not None and channel != "custom" else None,
        reason=routed.reason,  # type: ignore[arg-type]
        reasons=routed.reasons,  # type: ignore[arg-type]
        broadcast_id=None, send_at=None, hold_until=None,
        requested_at=now, sent_at=finished.sent_at, delivered_at=finished.delivered_at,
        delivery_status=finished.delivery_status,
    )


async def _send(
    runtime: RuntimeDep, dispatcher: DispatcherDep, clock: ClockDep, body: MessageCreate, *, source: str,
    key: str,
) -> MessageRead:
    fast = await _send_fast(runtime, clock, body, source=source, key=key)
    if fast is not None:
        return fast
    plan = None
    async with unit_of_work(runtime.session_factory) as session:
        message, created = await request_message(
            session, member_no=body.member_no, purpose_name=body.purpose, data=body.data, send_at=body.send_at,
            source=source, idempotency_key=key, now=clock.now(),
        )
        message_id = message.id
        if created:
            plan = await dispatcher.route_new(session, message)
    final = message
    if plan is not None:
        # The state the last transaction left (no read-back: one checkout and query fewer per send).
        final = await dispatcher.dispatch(message_id, plan) or message
    return MessageRead.model_validate(final)


@internal_router.post("", status_code=201)
async def send_internal(
    body: MessageCreate, idempotency_key: IdempotencyKey, caller: InternalCallerDep, runtime: RuntimeDep,
    dispatcher: DispatcherDep, clock: ClockDep,
) -> MessageRead:
    """Write to a member for a purpose (services); answers where the message ended."""
    return await _send(runtime, dispatcher, clock, body, source=f"internal:{caller.caller}", key=idempotency_key)


@admin_router.post("", status_code=201, dependencies=[SEND])
async def send_admin(
    body: MessageCreate, idempotency_key: IdempotencyKey, staff: CurrentStaff, runtime: RuntimeDep,
    dispatcher: DispatcherDep, clock: ClockDep,
) -> MessageRead:
    """Write to a member for a purpose (staff); answers where the message ended."""
    return await _send(runtime, dispatcher, clock, body, source="admin", key=idempotency_key)


@admin_router.get("", dependencies=[READ])
async def list_messages(
    session: SessionDep,
    page: PageDep,
    member_no: MemberNoQuery = None,
    purpose: TextQuery = None,
    status: Annotated[Status | None, Query()] = None,
    broadcast_id: IdQuery = None,
) -> MessagePage:
    """The delivery log, newest first."""
    rows = await repository.page(
        session, member_no=member_no, purpose=purpose, status=status, broadcast_id=broadcast_id,
        before_id=cursor_int(page.cursor, "id"), limit=page.limit,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return MessagePage(
        items=[MessageRead.model_validate(r) for r in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more and rows else None,
    )


@admin_router.get("/{message_id}", dependencies=[READ])
async def get_message(message_id: IdPath, session: SessionDep) -> MessageDetail:
    """One message with its data and every attempt."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("消息不存在。", slug="message-not-found")
    attempts = await repository.attempts_of(session, message_id)
    return MessageDetail(
        **MessageRead.model_validate(message).model_dump(), data=message.data,
        attempts=[AttemptRead.model_validate(a) for a in attempts],
    )
