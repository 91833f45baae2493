"""Delivery results from WeChat's pushes: ``TEMPLATESENDJOBFINISH`` and ``subscribe_msg_sent_event``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.messages.models import Message
from shared.contracts import parse
from shared.contracts.gateway import SubscribeSent, TemplateSendFinished
from shared.contracts.messaging import MessageDelivered
from shared.events import Envelope
from shared.events.outbox import emit


async def record_report(session: AsyncSession, *, msgid: str, status: str, at: datetime) -> None:
    """Keep the report (it may beat our own record of the send) and apply it to the message."""
    await session.execute(
        text("""INSERT INTO delivery_reports (wechat_msgid, status, at) VALUES (:id, :status, :at)
                ON CONFLICT (wechat_msgid) DO UPDATE SET status = :status, at = :at"""),
        {"id": msgid, "status": status, "at": at},
    )
    message = await session.scalar(select(Message).where(Message.wechat_msgid == msgid).with_for_update())
    if message is None or message.channel is None:
        return
    message.delivery_status, message.delivered_at = status, at
    if message.status == "sent":
        message.status = "delivered" if status == "success" else "failed"
        if status != "success":
            message.reason = "user_refused" if "block" in status else "provider_error"
    await emit(session, MessageDelivered(member_no=message.member_no, send_id=message.id,
                                   channel=message.channel,
                                   status=status), member_no=message.member_no)


async def on_template_finished(session: AsyncSession, envelope: Envelope) -> None:
    """A service-account template message's result."""
    data = parse(envelope, TemplateSendFinished)
    if data.msg_id:
        await record_report(session, msgid=data.msg_id, status=data.status, at=data.create_time)


async def on_subscribe_sent(session: AsyncSession, envelope: Envelope) -> None:
    """Subscribe messages' results (ErrorCode 0: delivered)."""
    data = parse(envelope, SubscribeSent)
    for item in data.results:
        msgid = str(item.get("msg_id") or "")
        if not msgid:
            continue
        code = str(item.get("error_code") or "0")
        status = "success" if code == "0" else f"failed:{item.get('error_status') or code}"
        await record_report(session, msgid=msgid, status=status, at=data.create_time)
