"""The ledger from WeChat's pushes (``wechat.inbound``): credits, windows, follows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service import catalog
from messaging_service.audience import repository as audience
from messaging_service.ledger import repository as ledger
from messaging_service.ledger.models import SubscribeDecision
from shared.contracts import parse
from shared.contracts.gateway import (
    MenuClicked,
    MessageReceived,
    PaymentSucceeded,
    Scanned,
    SessionEntered,
    Subscribed,
    SubscribePopup,
    Unsubscribed,
)
from shared.events import Envelope


async def on_subscribed(session: AsyncSession, envelope: Envelope) -> None:
    """A follow: the openid follows, and the follow opens 3 sends within 1 minute."""
    data = parse(envelope, Subscribed)
    if data.app != "oa":
        return
    await audience.set_following(session, openid=data.openid, following=True, at=data.create_time)
    await ledger.open_window(session, openid=data.openid, app="oa", interaction="event", at=data.create_time)


async def on_unsubscribed(session: AsyncSession, envelope: Envelope) -> None:
    """An unfollow: nothing more on the service account, windows closed."""
    data = parse(envelope, Unsubscribed)
    if data.app != "oa":
        return
    await audience.set_following(session, openid=data.openid, following=False, at=data.create_time)
    await ledger.close_windows(session, openid=data.openid, app="oa", now=data.create_time)


async def on_scanned(session: AsyncSession, envelope: Envelope) -> None:
    """A follower scanned a QR code: 3 sends within 1 minute."""
    data = parse(envelope, Scanned)
    if data.app == "oa":
        await audience.set_following(session, openid=data.openid, following=True, at=data.create_time)
        await ledger.open_window(session, openid=data.openid, app="oa", interaction="event", at=data.create_time)


async def on_message(session: AsyncSession, envelope: Envelope) -> None:
    """A user message: 5 sends within 48 hours."""
    data = parse(envelope, MessageReceived)
    await audience.see_openid(session, openid=data.openid, app=data.app)
    await ledger.open_window(session, openid=data.openid, app=data.app, interaction="message", at=data.create_time)


async def on_menu(session: AsyncSession, envelope: Envelope) -> None:
    """A menu click: 3 sends within 1 minute (a VIEW opens a page, not a window: unconfirmed)."""
    data = parse(envelope, MenuClicked)
    if data.app == "oa" and data.kind == "CLICK":
        await ledger.open_window(session, openid=data.openid, app="oa", interaction="event", at=data.create_time)


async def on_session(session: AsyncSession, envelope: Envelope) -> None:
    """Entering the mini-program's customer service: 2 sends within 1 minute."""
    data = parse(envelope, SessionEntered)
    if data.app == "mp":
        await ledger.open_window(session, openid=data.openid, app="mp", interaction="session", at=data.create_time)


async def on_payment(session: AsyncSession, envelope: Envelope) -> None:
    """A payment by a service-account openid: unlimited sends within 48 hours."""
    data = parse(envelope, PaymentSucceeded)
    if data.trade_state != "SUCCESS":
        return
    if await audience.app_of(session, data.payer_openid) == "oa":
        await ledger.open_window(session, openid=data.payer_openid, app="oa", interaction="payment",
                                 at=envelope.occurred_at)


async def on_popup(session: AsyncSession, envelope: Envelope) -> None:
    """Popup answers (+1 credit per accept) and settings changes (a reject zeroes the template)."""
    data = parse(envelope, SubscribePopup)
    await audience.see_openid(session, openid=data.openid, app="mp")
    for decision in data.decisions:
        template_id, status = decision.get("template_id", ""), decision.get("status", "")
        if not template_id:
            continue
        session.add(SubscribeDecision(openid=data.openid, template_id=template_id, decision=status,
                                      source=data.event_name, at=data.create_time))
        if data.event_name == "subscribe_msg_change_event":
            if status == "reject":
                await ledger.zero_credits(session, openid=data.openid, template_id=template_id,
                                          reason="turned off in settings", decision="reject")
        elif status == "accept":
            template = await catalog.template(session, "mp", template_id)
            long_term = template is not None and template.kind == "long_term"
            await ledger.add_credit(session, openid=data.openid, template_id=template_id, long_term=long_term)
        else:
            await ledger.note_rejection(session, openid=data.openid, template_id=template_id)
    await session.flush()
