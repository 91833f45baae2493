"""Messages (one per send request) and their attempts at WeChat: the delivery log."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from messaging_service.models import Base


class Message(Base):
    """A request to write to a member for a purpose, and where it ended."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    member_no: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    message_class: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # queued | held | sending | sent | delivered | failed | undeliverable | unknown
    status: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[str | None] = mapped_column(Text)
    openid: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # Index of the next channel to try in the purpose's order (after a refusal).
    next_channel: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The local date whose marketing cap this message holds (released if nothing went out).
    cap_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)  # admin | internal | campaign | broadcast
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_hash: Mapped[str | None] = mapped_column(Text)
    broadcast_id: Mapped[int | None] = mapped_column(BigInteger)
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hold_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    quiet_deferred: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    wechat_msgid: Mapped[str | None] = mapped_column(Text)
    client_msg_id: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_status: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("source", "idempotency_key"),
        Index("ix_messages_member_no_id", "member_no", "id"),
        Index("ix_messages_held", "hold_until", postgresql_where=text("status = 'held'")),
        Index("ix_messages_wechat_msgid", "wechat_msgid"),
        Index("ix_messages_purpose_id", "purpose", "id"),
        Index("ix_messages_status_id", "status", "id"),
    )


class Attempt(Base):
    """One call to WeChat (or one channel judged unusable without calling it)."""

    __tablename__ = "message_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(Text)
    template_id: Mapped[str | None] = mapped_column(Text)
    # sent | refused | retry | failed | unknown | skipped
    outcome: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    errcode: Mapped[int | None] = mapped_column(Integer)
    errmsg: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryReport(Base):
    """WeChat's asynchronous result of a send (TEMPLATESENDJOBFINISH, subscribe_msg_sent_event), by msgid."""

    __tablename__ = "delivery_reports"

    wechat_msgid: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
