"""Payment outcomes for registrations: confirmation by notification or query, expiry of unpaid orders."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.payments import repository
from campaign_service.payments.models import Order
from campaign_service.payments.wechatpay import WeChatPayClient, WeChatPayError
from campaign_service.referrals import service as referrals
from campaign_service.registrations import repository as registrations
from campaign_service.registrations.models import Registration
from campaign_service.settlement.service import refund_late_payment
from shared.contracts.campaign import RegistrationExpired, RegistrationPaid
from shared.events.outbox import emit

log = structlog.get_logger("campaign.payments")


async def confirm_payment(
    session: AsyncSession, *, out_trade_no: str, transaction_id: str, amount_fen: int, now: datetime
) -> Registration | None:
    """Mark an order paid and its registration confirmed; repeated confirmations are no-ops.

    A payment for an order that already expired takes its place back if one is
    left; otherwise the whole fee is refunded (a late-payment refund).
    """
    order = await repository.by_out_trade_no(session, out_trade_no, lock=True)
    if order is None:
        log.info("payment_for_unknown_order", out_trade_no=out_trade_no)
        return None
    registration = await registrations.get_registration(session, order.registration_id, lock=True)
    assert registration is not None
    if order.state == "paid":
        return registration
    if amount_fen != order.amount_fen:
        # Never confirm a payment of another amount; staff see it in the logs and the order stays open.
        log.error(
            "payment_amount_mismatch", out_trade_no=out_trade_no, paid=amount_fen, expected=order.amount_fen
        )
        return registration
    was_expired = order.state in ("expired", "closed")
    order.state, order.transaction_id, order.paid_at = "paid", transaction_id, now
    if registration.state == "cancelled":
        # Paid although the registration was cancelled first: never revive it, refund the fee.
        await refund_late_payment(session, registration, order, now)
        await session.flush()
        return registration
    if was_expired:
        free = await registrations.active_registration(session, order.period_id, order.member_no) is None
        if not (free and await registrations.retake_place(session, order.period_id)):
            await refund_late_payment(session, registration, order, now)
            await session.flush()
            return registration
    registration.state, registration.confirmed_at = "confirmed", now
    registration.ended_at = registration.end_reason = None
    await session.flush()
    await referrals.on_confirmed(session, registration, now)
    await emit(
        session,
        RegistrationPaid(
            member_no=registration.member_no,
            registration_id=registration.id,
            period_id=registration.period_id,
            amount_fen=amount_fen,
            transaction_id=transaction_id,
        ),
        member_no=registration.member_no,
        occurred_at=now,
    )
    return registration


async def expire_order(session: AsyncSession, order: Order, now: datetime) -> None:
    """Expire an unpaid order and free its place."""
    registration = await registrations.get_registration(session, order.registration_id, lock=True)
    assert registration is not None
    order.state = "expired"
    if registration.state == "awaiting_payment":
        registration.state, registration.ended_at, registration.end_reason = "expired", now, "unpaid"
        await registrations.release_place(session, registration.period_id)
        await emit(
            session,
            RegistrationExpired(
                member_no=registration.member_no,
                registration_id=registration.id,
                period_id=registration.period_id,
                out_trade_no=order.out_trade_no,
            ),
            member_no=registration.member_no,
            occurred_at=now,
        )
    await session.flush()


async def settle_with_query(session: AsyncSession, order: Order, pay: WeChatPayClient, now: datetime) -> bool:
    """Ask WeChat Pay about an order (for a late notification); True when it turned out paid."""
    transaction = await pay.query(order.out_trade_no)
    if transaction and transaction.get("trade_state") in ("SUCCESS", "REFUND"):
        await confirm_payment(
            session,
            out_trade_no=order.out_trade_no,
            transaction_id=str(transaction.get("transaction_id", "")),
            amount_fen=int(transaction["amount"]["total"]),
            now=now,
        )
        return True
    return False


async def expire_one(session: AsyncSession, pay: WeChatPayClient | None, now: datetime) -> bool:
    """Handle one overdue order: confirm it if WeChat Pay says paid, else close and expire it."""
    order = await repository.next_expired(session, now)
    if order is None:
        return False
    if pay is not None:
        try:
            if await settle_with_query(session, order, pay, now):
                return True
            await pay.close(order.out_trade_no)
        except WeChatPayError as exc:
            # Unknown outcome: expire anyway; a payment arriving later is still honoured (late payment).
            log.warning("order_query_failed", out_trade_no=order.out_trade_no, error=exc.message or exc.code)
    await expire_order(session, order, now)
    return True
