"""Shapes of the registration API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.fields import Id, Text


class RegistrationCreate(BaseModel):
    """A member registers for a period."""

    channel: Text | None = Field(
        None, max_length=64, description="the mini-program launch scene (a channel code), if any"
    )
    invite_code: Text | None = Field(
        None, max_length=32, description="the code of the member who invited me, if any"
    )


class PayParams(BaseModel):
    """Arguments of ``wx.requestPayment``."""

    appId: Text
    timeStamp: Text
    nonceStr: Text
    package: Text
    signType: Text
    paySign: Text


class OrderRead(BaseModel):
    """The order of a paid registration."""

    out_trade_no: Text
    amount_fen: int
    state: Text
    expires_at: datetime
    pay_params: PayParams | None = None


class RegistrationRead(BaseModel):
    """A registration as its member sees it."""

    id: int
    period_id: Id
    state: Text
    fee_fen: int
    created_at: datetime
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: Text | None = None
    cancelled_by: Text | None = Field(None, description="who cancelled: member or staff")
    channel_id: Id | None = None
    referral: Text | None = Field(
        None,
        description="what the invite code did: credited, pending, invalid, self, cycle, already-referred",
    )
    order: OrderRead | None = None


class RegistrationCancel(BaseModel):
    """Staff cancel a registration, with a reason and optionally a full refund of a paid one."""

    reason: Text = Field(min_length=1, max_length=200)
    refund: bool = Field(description="refund the full fee of a paid registration")


class CancellationRead(BaseModel):
    """A cancelled registration and the full-fee refund its cancellation queued, if any."""

    registration: RegistrationRead
    out_refund_no: Text | None = None
    refund_amount_fen: int | None = None
    refund_state: Text | None = None


class CalendarDay(BaseModel):
    """One plan date of a period: done, late, voided, missed, today or upcoming.

    ``checkin_id`` is the date's check-in (done, late or voided), so staff can
    void it from the member's page; null when the date has none.
    """

    date: date
    status: Text
    checkin_id: Id | None = None


class MyRegistration(BaseModel):
    """A member's registration with its calendar, rate and the refund it would earn now."""

    registration: RegistrationRead
    period_title: Text
    series_id: Id
    period_number: int
    period_state: Text
    start_date: date
    end_date: date
    calendar: list[CalendarDay]
    checked_days: int
    planned_days: int
    rate_percent: float
    refund_now_fen: int
    refund_state: Text | None = None
    refund_amount_fen: int | None = None
