"""Registrations and the idempotency records of registration requests."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base

# awaiting_payment holds a place until the order is paid or expires.
ACTIVE_STATES = ("awaiting_payment", "confirmed")
# Ended states free the place: expired (unpaid in time) and cancelled (by the member or staff).
REGISTRATION_STATES = (*ACTIVE_STATES, "expired", "cancelled")


class Registration(Base):
    """A member's place in a period."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    state: Mapped[str] = mapped_column(Text)
    fee_fen: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(Text)
    # The channel the registration came through: its launch scene, else the member's first touch.
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Who cancelled: "member" (cancelled_by is the member number) or "staff" (a staff id).
    cancelled_by_kind: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # One live registration per member and period; expired/cancelled ones stay as history.
        Index(
            "uq_registrations_active",
            "period_id",
            "member_no",
            unique=True,
            postgresql_where=text("state IN ('awaiting_payment', 'confirmed')"),
        ),
    )


class IdempotencyRecord(Base):
    """A processed write: replayed when the same member retries with the same key and body."""

    __tablename__ = "idempotency_records"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
