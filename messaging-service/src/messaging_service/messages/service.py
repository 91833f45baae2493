"""Accepting a send: idempotency, the purpose and its data checked, the message recorded (not yet routed)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.messages.models import Message
from messaging_service.purposes import service as purposes
from shared.contracts.messaging import MessageRequested
from shared.errors import Invalid
from shared.events.outbox import emit


def request_hash(body: dict[str, Any]) -> str:
    """A digest of the request body, to tell a retry from another request under the same key."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _reused() -> Invalid:
    return Invalid(
        "该 Idempotency-Key 已用于另一个请求。", slug="idempotency-key-reused",
        errors=[{"field": "Idempotency-Key", "message": "used with another body", "code": "key_reused"}],
    )


async def _existing(session: AsyncSession, source: str, key: str, digest: str) -> Message | None:
    found = await session.scalar(select(Message).where(Message.source == source, Message.idempotency_key == key))
    if found is not None and found.request_hash != digest:
        raise _reused()
    return found


async def request_message(
    session: AsyncSession,
    *,
    member_no: int,
    purpose_name: str,
    data: dict[str, Any],
    send_at: datetime | None,
    source: str,
    idempotency_key: str | None,
    now: datetime,
    broadcast_id: int | None = None,
    validate: bool = True,
) -> tuple[Message, bool]:
    """Record a send (``queued``, or ``held`` until ``send_at``); returns it and whether it is new."""
    if send_at is not None and send_at.tzinfo is None:
        raise Invalid("send_at 必须带时区。", slug="naive-datetime",
                      errors=[{"field": "send_at", "message": "timezone required", "code": "naive_datetime"}])
    digest = request_hash(
        {"member_no": member_no, "purpose": purpose_name, "data": data,
         "send_at": send_at.isoformat() if send_at else None}
    )
    if idempotency_key is not None:
        found = await _existing(session, source, idempotency_key, digest)
        if found is not None:
            return found, False
    purpose = await purposes.get_by_name(session, purpose_name)
    if validate:
        await purposes.validate_data(session, purpose, data)
    held = send_at is not None and send_at > now
    message = Message(
        member_no=member_no, purpose=purpose.name, message_class=purpose.message_class, data=data,
        status="held" if held else "queued", source=source, idempotency_key=idempotency_key,
        request_hash=digest, broadcast_id=broadcast_id, send_at=send_at, hold_until=send_at if held else None,
        requested_at=now, reasons=[],
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it starts.
        async with session.begin_nested():
            session.add(message)
            await session.flush()
    except IntegrityError:
        # The same key at the same moment: the first one wins, this one answers its result.
        if idempotency_key is None:
            raise
        found = await _existing(session, source, idempotency_key, digest)
        if found is None:
            raise
        return found, False
    await emit(
        session,
        MessageRequested(member_no=member_no, message_id=message.id, purpose=purpose.name,
                         message_class=purpose.message_class,
                         send_at=send_at, broadcast_id=broadcast_id),
        member_no=member_no,
    )
    return message, True
