"""SQL of the callback dedupe tables."""

from typing import Any

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.callbacks.models import ReceivedPayNotification
from shared.events.outbox import notify_sql


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


# asyncpg placeholders: this statement runs on the driver pool (shared.db).
_RECORD_PUSH = """
    WITH claimed AS (
        INSERT INTO received_pushes (dedupe_key, app, openid, kind)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING 1
    )
    INSERT INTO outbox (event_id, topic, key, type, envelope)
    SELECT $5, $6, $7, $8, $9::jsonb FROM claimed
    RETURNING id
"""


async def record_push(
    pool: asyncpg.Pool,
    *,
    dedupe_key: str,
    app: str,
    openid: str,
    kind: str,
    event: dict[str, Any],
    notify: bool,
) -> bool:
    """Record a push and its outbox event in one statement; False for a WeChat retry.

    The hottest write of the system (every follow, message and click): one
    autocommit statement (atomic on its own) on the driver pool, no
    BEGIN/COMMIT round trips and no ORM. ``notify`` wakes a relay running in
    another process (the caller wakes its own relay directly).
    """
    async with pool.acquire() as conn:
        inserted = await conn.fetchval(
            _RECORD_PUSH, dedupe_key, app, openid, kind, event["event_id"], event["topic"], event["key"],
            event["type"], orjson.dumps(event["envelope"]).decode(),
        )
        if inserted is not None and notify:
            await conn.execute(notify_sql())
    return inserted is not None
