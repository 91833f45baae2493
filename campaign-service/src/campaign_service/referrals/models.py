"""Referrals: who brought whom (one inviter per invitee)."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base


class Referral(Base):
    """An invitee registered with an inviter's code; credited when the registration is confirmed."""

    __tablename__ = "referrals"

    invitee_member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    inviter_member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    invite_code: Mapped[str] = mapped_column(Text)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    state: Mapped[str] = mapped_column(Text)  # pending | credited
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    credited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
