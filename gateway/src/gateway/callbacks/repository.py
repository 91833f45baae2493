"""SQL of the callback dedupe tables."""

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gateway.callbacks.models import ReceivedPayNotification


async def remember_pay_notification(
    session: AsyncSession, *, notification_id: str, event_type: str, out_trade_no: str
) -> bool:
    """Record a pay notification; False when it was already received."""
    result = await session.execute(
        insert(ReceivedPayNotification)
        .values(notification_id=notification_id, event_type=event_type, out_trade_no=out_trade_no)
        .on_conflict_do_nothing(index_elements=["notification_id"])
        .returning(ReceivedPayNotification.notification_id)
    )
    return result.scalar() is not None


_RECORD_PUSH = text(
    """
    WITH claimed AS (
        INSERT INTO received_pushes (dedupe_key, app, openid, kind)
        VALUES (:dedupe_key, :app, :openid, :kind)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING 1
    )
    INSERT INTO outbox (event_id, topic, key, type, envelope)
    SELECT :event_id, :topic, :key, :type, CAST(:envelope AS jsonb) FROM claimed
    RETURNING id
    """
)


async def record_push(
    engine: AsyncEngine, *, dedupe_key: str, app: str, openid: str, kind: str, event: dict[str, Any]
) -> bool:
    """Record a push and its outbox event in one statement; False for a WeChat retry.

    The hottest write of the system (every follow, message and click): one
    statement in one short transaction, without an ORM session, measured at
    about three times the throughput of the session path.
    """
    async with engine.begin() as conn:
        result = await conn.execute(
            _RECORD_PUSH,
            {"dedupe_key": dedupe_key, "app": app, "openid": openid, "kind": kind,
             "event_id": event["event_id"], "topic": event["topic"], "key": event["key"],
             "type": event["type"], "envelope": orjson.dumps(event["envelope"]).decode()},
        )
        return result.scalar() is not None
