"""Local projection of tagging's blocklist."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_service.models import Base


class BlockedMember(Base):
    """A member barred from registering (from ``tagging.member.blocked``)."""

    __tablename__ = "blocked_members"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    blocked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
