"""Closing a period: each registrant's rate, the refund it earns, and issuing it exactly once.

Crash safety: the refunds are computed and written in the same transaction
that closes the period, each with a deterministic ``out_refund_no``. Each
refund request then runs in its own transaction; WeChat Pay treats a repeated
``out_refund_no`` as the same refund, so a crash between the call and the
commit only repeats a request that cannot pay twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaign_service.checkins import repository as checkins
from campaign_service.checkins.service import rate_and_refund
from campaign_service.payments import repository as orders
from campaign_service.payments.models import Order
from campaign_service.payments.wechatpay import WeChatPayClient, WeChatPayError
from campaign_service.periods import repository as periods_repo
from campaign_service.periods.models import Period
from campaign_service.registrations import repository as registrations
from campaign_service.registrations.models import Registration
from campaign_service.settlement import repository
from campaign_service.settlement.models import Refund
from shared.contracts.campaign import PeriodClosed, PeriodSettled, RefundFailed, RefundIssued, RefundSettled
from shared.db import unit_of_work
from shared.errors import Conflict
from shared.events.outbox import emit

log = structlog.get_logger("campaign.settlement")


# The prefix of out_refund_no says why a refund exists.
SETTLEMENT_REFUND = "QR"  # the rate-based refund computed when the period closes
LATE_PAYMENT_REFUND = "QL"  # a payment that arrived after its order expired and the place was gone
CANCELLATION_REFUND = "QC"  # the full fee of a cancelled registration
REFUND_REASONS = {
    SETTLEMENT_REFUND: "活动打卡退款",
    LATE_PAYMENT_REFUND: "报名已失效，全额退款",
    CANCELLATION_REFUND: "取消报名，全额退款",
}


def out_refund_no_for(registration_id: int, *, prefix: str = SETTLEMENT_REFUND) -> str:
    """Deterministic refund number: one refund per registration, ever."""
    return f"{prefix}{registration_id:012d}"


async def close_period(session: AsyncSession, period: Period, now: datetime) -> None:
    """Compute every confirmed registrant's rate and refund; the period settles when all are done."""
    period.state, period.closed_at = "closed", now
    total, due = 0, 0
    regs = await registrations.confirmed_of_period(session, period.id)
    for registration in regs:
        mine = await checkins.of_member(session, period.id, registration.member_no)
        rate, amount = rate_and_refund(period, mine, registration.fee_fen)
        order = await orders.paid_of_registration(session, registration.id) if registration.fee_fen else None
        if order is None:
            amount = 0
        await repository.add_if_absent(
            session,
            {
                "period_id": period.id,
                "registration_id": registration.id,
                "member_no": registration.member_no,
                "out_trade_no": order.out_trade_no if order else None,
                "out_refund_no": out_refund_no_for(registration.id),
                "fee_fen": registration.fee_fen,
                "amount_fen": amount,
                "checked_days": rate.checked,
                "planned_days": rate.planned,
                # Without auto-settlement, due refunds wait for staff to start the settlement.
                "state": ("pending" if period.auto_settle else "held") if amount > 0 else "not_due",
            },
        )
        total += amount
        due += amount > 0
    await session.flush()
    await emit(
        session,
        PeriodClosed(
            series_id=period.series_id,
            period_id=period.id,
            registrants=len(regs),
            refunds_due=due,
            refund_total_fen=total,
        ),
        member_no=None,
        key=f"period-{period.id}",
        occurred_at=now,
    )
    await maybe_settle(session, period, now)


async def refund_late_payment(
    session: AsyncSession, registration: Registration, order: Order, now: datetime
) -> None:
    """A payment arrived after its order expired (or was cancelled) and the place was gone: refund it in full."""
    if registration.state != "cancelled":
        registration.end_reason = "paid_after_expiry"
    await repository.add_if_absent(
        session,
        {
            "period_id": order.period_id,
            "registration_id": registration.id,
            "member_no": registration.member_no,
            "out_trade_no": order.out_trade_no,
            "out_refund_no": out_refund_no_for(registration.id, prefix=LATE_PAYMENT_REFUND),
            "fee_fen": order.amount_fen,
            "amount_fen": order.amount_fen,
            "checked_days": 0,
            "planned_days": 0,
            "state": "pending",
        },
    )


async def maybe_settle(session: AsyncSession, period: Period, now: datetime) -> None:
    """Closed → settled once every refund is confirmed (or nothing was due)."""
    if period.state != "closed" or await repository.unfinished_count(session, period.id):
        return
    period.state, period.settled_at = "settled", now
    await periods_repo.add_transition(
        session, period, from_state="closed", to_state="settled", at=now, by_kind="settlement"
    )
    refunds = await repository.of_period(session, period.id)
    await emit(
        session,
        PeriodSettled(
            series_id=period.series_id,
            period_id=period.id,
            refund_total_fen=sum(r.amount_fen for r in refunds if r.state == "succeeded"),
        ),
        member_no=None,
        key=f"period-{period.id}",
        occurred_at=now,
    )
    await session.flush()


async def start_settlement(session: AsyncSession, period: Period, now: datetime) -> int:
    """Release the refunds a closed period without auto-settlement holds; returns how many."""
    if period.state != "closed":
        raise Conflict("只有已结束的活动期可以开始结算。", slug="period-not-closed", title="Period not closed")
    released = await repository.release_held(session, period.id)
    await maybe_settle(session, period, now)
    return released


async def _settle_period_of(session: AsyncSession, refund: Refund, now: datetime) -> None:
    period = await periods_repo.get_period(session, refund.period_id, lock=True)
    if period is not None:
        await maybe_settle(session, period, now)


async def mark_succeeded(session: AsyncSession, refund: Refund, now: datetime) -> None:
    """WeChat Pay confirmed the refund."""
    if refund.state == "succeeded":
        return
    refund.state = "succeeded"
    await emit(
        session,
        RefundSettled(
            member_no=refund.member_no,
            refund_id=refund.id,
            period_id=refund.period_id,
            out_refund_no=refund.out_refund_no,
            amount_fen=refund.amount_fen,
        ),
        member_no=refund.member_no,
        occurred_at=now,
    )
    await session.flush()
    await _settle_period_of(session, refund, now)


async def mark_failed(session: AsyncSession, refund: Refund, error: str, now: datetime) -> None:
    """The refund will not complete without staff (retry from the settlement report)."""
    refund.state, refund.last_error = "failed", error[:500]
    await emit(
        session,
        RefundFailed(
            member_no=refund.member_no,
            refund_id=refund.id,
            period_id=refund.period_id,
            out_refund_no=refund.out_refund_no,
            amount_fen=refund.amount_fen,
            error=error[:500],
        ),
        member_no=refund.member_no,
        occurred_at=now,
    )
    await session.flush()


async def on_refund_update(session: AsyncSession, *, out_refund_no: str, status: str, now: datetime) -> None:
    """Apply a refund notification (REFUND.SUCCESS / ABNORMAL / CLOSED)."""
    refund = await repository.by_out_refund_no(session, out_refund_no)
    if refund is None or refund.state in ("succeeded", "not_due"):
        return
    if status == "SUCCESS":
        await mark_succeeded(session, refund, now)
    elif status in ("ABNORMAL", "CLOSED"):
        await mark_failed(session, refund, f"refund {status}", now)


async def issue_one(
    session: AsyncSession, pay: WeChatPayClient, now: datetime, *, max_attempts: int, retry_base: float
) -> bool:
    """Request one due refund; False when none is due."""
    refund = await repository.next_due(session, now)
    if refund is None:
        return False
    refund.attempts += 1
    try:
        assert refund.out_trade_no is not None
        answer = await pay.refund(
            out_trade_no=refund.out_trade_no,
            out_refund_no=refund.out_refund_no,
            amount_fen=refund.amount_fen,
            total_fen=refund.fee_fen,
            reason=REFUND_REASONS.get(refund.out_refund_no[:2], REFUND_REASONS[SETTLEMENT_REFUND]),
        )
    except WeChatPayError as exc:
        error = f"{exc.code}: {exc.message}"
        if refund.attempts >= max_attempts:
            await mark_failed(session, refund, error, now)
        else:
            refund.last_error = error[:500]
            refund.next_attempt_at = now + timedelta(seconds=retry_base * 2 ** (refund.attempts - 1))
        return True
    refund.wechat_refund_id = str(answer.get("refund_id") or "") or None
    refund.state = "processing"
    await emit(
        session,
        RefundIssued(
            member_no=refund.member_no,
            refund_id=refund.id,
            period_id=refund.period_id,
            registration_id=refund.registration_id,
            out_refund_no=refund.out_refund_no,
            amount_fen=refund.amount_fen,
        ),
        member_no=refund.member_no,
        occurred_at=now,
    )
    status = answer.get("status")
    if status == "SUCCESS":
        await mark_succeeded(session, refund, now)
    elif status in ("ABNORMAL", "CLOSED"):
        await mark_failed(session, refund, f"refund {status}", now)
    await session.flush()
    return True


async def issue_due_refunds(
    factory: async_sessionmaker[AsyncSession],
    pay: WeChatPayClient | None,
    now: datetime,
    *,
    max_attempts: int,
    retry_base: float,
    limit: int = 200,
) -> int:
    """Request due refunds, one transaction each; returns how many were handled."""
    if pay is None:
        return 0
    handled = 0
    while handled < limit:
        async with unit_of_work(factory) as session:
            if not await issue_one(session, pay, now, max_attempts=max_attempts, retry_base=retry_base):
                break
        handled += 1
        await asyncio.sleep(0)
    return handled
