"""Cancelling a registration: by its member before the period starts, by staff until the period closes.

A cancellation frees the place, closes an unpaid order at WeChat Pay, and for
a paid registration queues a full-fee refund with a deterministic
``out_refund_no`` (``QC`` + registration id) that the scheduler sends and the
refund notification confirms, exactly like settlement refunds. Cancelling a
cancelled registration changes nothing and emits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.lifecycle.payments import settle_with_query
from campaign_service.payments import repository as orders
from campaign_service.payments.models import Order
from campaign_service.payments.wechatpay import WeChatPayClient
from campaign_service.periods import service as periods
from campaign_service.periods.models import Period
from campaign_service.registrations import repository
from campaign_service.registrations.models import ACTIVE_STATES, Registration
from campaign_service.registrations.schemas import CancellationRead
from campaign_service.registrations.service import read_of
from campaign_service.settlement import repository as refunds
from campaign_service.settlement.models import Refund
from campaign_service.settlement.service import CANCELLATION_REFUND, out_refund_no_for
from shared.contracts.campaign import RegistrationCancelled
from shared.errors import Conflict, NotFound, Unavailable
from shared.events.outbox import emit

MEMBER_REQUEST = "member_request"


@dataclass(frozen=True)
class Canceller:
    """Who cancels: the registration's member, or a staff user with a reason."""

    kind: Literal["member", "staff"]
    id: int
    reason: str
    refund: bool


def _not_found() -> NotFound:
    return NotFound("报名记录不存在。", slug="registration-not-found", title="Registration not found")


def period_starts_at(period: Period) -> datetime:
    """Midnight of the period's first day in its time zone."""
    return datetime.combine(period.start_date, time(0), periods.zone_of(period))


def _check_member_may_cancel(period: Period, now: datetime) -> None:
    if period.state != "open" or now >= period_starts_at(period):
        raise Conflict("活动已开始，不能取消报名。", slug="period-started", title="Period already started")
    if now >= period.registration_closes_at:
        raise Conflict("报名已截止，不能取消报名。", slug="cancellation-closed", title="Cancellation closed")


def _check_staff_may_cancel(period: Period) -> None:
    if period.state in ("closed", "settled"):
        # Closing computed this registration's settlement refund; cancelling now would pay twice.
        raise Conflict(
            "活动期已结束并已计算结算，不能再取消报名。", slug="period-closed", title="Period closed"
        )


async def _lock(session: AsyncSession, registration_id: int) -> tuple[Registration, Order | None]:
    # Order before registration: the same lock order as payment confirmation and expiry.
    order = await orders.latest_of_registration(session, registration_id, lock=True)
    registration = await repository.get_registration(session, registration_id, lock=True)
    if registration is None:
        raise _not_found()
    return registration, order


async def _close_unpaid(
    session: AsyncSession, registration: Registration, order: Order, pay: WeChatPayClient | None, now: datetime
) -> None:
    """Close the pending order at WeChat Pay; a payment that got there first confirms the registration."""
    if pay is None:
        raise Unavailable("支付暂不可用，请稍后再试。", slug="payment-unavailable")
    if await settle_with_query(session, order, pay, now):
        await session.refresh(registration)
        return
    # A payment racing this close makes WeChat Pay refuse it (ORDERPAID): the
    # cancellation fails and rolls back, and a retry finds the order paid.
    await pay.close(order.out_trade_no)
    order.state = "closed"


async def _queue_refund(session: AsyncSession, registration: Registration, order: Order) -> Refund:
    """A pending full-fee refund; the scheduler sends it, the refund notification confirms it."""
    await refunds.add_if_absent(
        session,
        {
            "period_id": registration.period_id,
            "registration_id": registration.id,
            "member_no": registration.member_no,
            "out_trade_no": order.out_trade_no,
            "out_refund_no": out_refund_no_for(registration.id, prefix=CANCELLATION_REFUND),
            "fee_fen": order.amount_fen,
            "amount_fen": order.amount_fen,
            "checked_days": 0,
            "planned_days": 0,
            "state": "pending",
        },
    )
    # One refund per registration: an earlier one (never expected here) is the one reported.
    refund = await refunds.of_registration(session, registration.id)
    assert refund is not None
    return refund


async def cancel(
    session: AsyncSession,
    *,
    registration_id: int,
    by: Canceller,
    pay: WeChatPayClient | None,
    now: datetime,
    period_id: int | None = None,
) -> CancellationRead:
    """Cancel a registration and free its place; repeating it returns the same cancellation."""
    registration, order = await _lock(session, registration_id)
    if by.kind == "member" and registration.member_no != by.id:
        raise _not_found()
    if period_id is not None and registration.period_id != period_id:
        raise _not_found()
    if registration.state == "cancelled":
        return await read_cancellation(session, registration)
    if registration.state not in ACTIVE_STATES:
        raise Conflict("报名已失效，无需取消。", slug="registration-ended", title="Registration ended")
    # Locked: a period closing meanwhile would compute a settlement refund for this registration.
    period = await periods.require_period(session, registration.period_id, lock=True)
    if by.kind == "member":
        _check_member_may_cancel(period, now)
    else:
        _check_staff_may_cancel(period)

    if registration.state == "awaiting_payment" and order is not None and order.state == "created":
        await _close_unpaid(session, registration, order, pay, now)
    refund = None
    paid = await orders.paid_of_registration(session, registration.id) if registration.fee_fen else None
    # A payment confirmed just now by the query above is refunded like any other.
    if paid is not None and registration.state == "confirmed" and (by.kind == "member" or by.refund):
        refund = await _queue_refund(session, registration, paid)

    await repository.release_place(session, registration.period_id)
    registration.state = "cancelled"
    registration.ended_at = registration.cancelled_at = now
    registration.end_reason = "cancelled"
    registration.cancel_reason = by.reason
    registration.cancelled_by_kind, registration.cancelled_by = by.kind, by.id
    await session.flush()
    await emit(
        session,
        RegistrationCancelled(
            member_no=registration.member_no,
            registration_id=registration.id,
            period_id=registration.period_id,
            reason=by.reason,
            cancelled_by=by.kind,
            by_staff_id=by.id if by.kind == "staff" else None,
            refund_fen=refund.amount_fen if refund else 0,
            out_refund_no=refund.out_refund_no if refund else None,
        ),
        member_no=registration.member_no,
        occurred_at=now,
    )
    return await read_cancellation(session, registration)


async def read_cancellation(session: AsyncSession, registration: Registration) -> CancellationRead:
    """The registration with its order and the refund its cancellation queued, if any."""
    order = await orders.latest_of_registration(session, registration.id)
    refund = await refunds.of_registration(session, registration.id)
    return CancellationRead(
        registration=read_of(registration, order),
        out_refund_no=refund.out_refund_no if refund else None,
        refund_amount_fen=refund.amount_fen if refund else None,
        refund_state=refund.state if refund else None,
    )
