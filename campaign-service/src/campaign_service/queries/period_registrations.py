"""Staff's list of a period's registrations: channel, payment, refund and check-ins in one row each."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.channels.models import Channel
from campaign_service.checkins.models import Checkin
from campaign_service.payments.models import Order
from campaign_service.registrations.models import Registration
from campaign_service.settlement.models import Refund
from shared.fields import Id, MemberNo, Text

RegistrationStatus = Literal["awaiting_payment", "confirmed", "expired", "cancelled"]


class RefundSummary(BaseModel):
    """The refund of a registration: its state and amount."""

    status: Text
    amount_fen: int


class PeriodRegistrationRead(BaseModel):
    """One registration of a period as staff see it."""

    id: Id
    member_no: MemberNo
    status: Text = Field(description="awaiting_payment, confirmed, expired or cancelled")
    amount_fen: int = Field(description="the fee of the registration (0 for a free period)")
    channel_code: Text | None = None
    registered_at: datetime
    paid_at: datetime | None = None
    refund: RefundSummary | None = None
    checkins: int = Field(description="check-ins that count (not voided)")


async def period_registrations(
    session: AsyncSession,
    period_id: int,
    *,
    status: RegistrationStatus | None,
    member_no: int | None,
    after_id: int | None,
    limit: int,
) -> list[PeriodRegistrationRead]:
    """A period's registrations by id, optionally of one status or member, after ``after_id``."""
    paid_at = (
        select(func.max(Order.paid_at)).where(Order.registration_id == Registration.id).scalar_subquery()
    )
    checkins = (
        select(func.count())
        .where(Checkin.registration_id == Registration.id, Checkin.voided_at.is_(None))
        .scalar_subquery()
    )
    stmt = (
        select(Registration, Channel.code, paid_at, Refund.state, Refund.amount_fen, checkins)
        .outerjoin(Channel, Channel.id == Registration.channel_id)
        .outerjoin(Refund, Refund.registration_id == Registration.id)
        .where(Registration.period_id == period_id)
        .order_by(Registration.id)
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(Registration.state == status)
    if member_no is not None:
        stmt = stmt.where(Registration.member_no == member_no)
    if after_id is not None:
        stmt = stmt.where(Registration.id > after_id)
    return [
        PeriodRegistrationRead(
            id=r.id,
            member_no=r.member_no,
            status=r.state,
            amount_fen=r.fee_fen,
            channel_code=code,
            registered_at=r.created_at,
            paid_at=paid,
            refund=RefundSummary(status=refund_state, amount_fen=refund_fen) if refund_state else None,
            checkins=count,
        )
        for r, code, paid, refund_state, refund_fen, count in await session.execute(stmt)
    ]
