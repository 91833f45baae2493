"""Broadcasts: one purpose to a snapshot of members, throttled, pausable, crash-safe."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class Broadcast(Base):
    """A send to many; recipients are snapshotted when it starts."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    segment_id: Mapped[int | None] = mapped_column(BigInteger)
    rate_per_second: Mapped[float] = mapped_column(Float)
    # scheduled | running | paused | cancelled | finished
    state: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The runner holding the broadcast renews this; a crashed runner's lease runs out and another resumes.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BroadcastRecipient(Base):
    """One member of the snapshot; ``message_id`` set in the same transaction that creates the message."""

    __tablename__ = "broadcast_recipients"

    broadcast_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_broadcast_recipients_pending", "broadcast_id", "seq", postgresql_where=text("message_id IS NULL")),
    )
