"""SQL of the callback dedupe tables."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.callbacks.models import ReceivedPayNotification, ReceivedPush


async def remember_push(session: AsyncSession, *, dedupe_key: str, app: str, openid: str, kind: str) -> bool:
    """Record a push; False when it was already received (a WeChat retry)."""
    table = ReceivedPush.__table__  # Core, not the ORM bulk path: this runs on every push
    result = await session.execute(
        insert(table)
        .values(dedupe_key=dedupe_key, app=app, openid=openid, kind=kind)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key)
    )
    return result.scalar() is not None


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
