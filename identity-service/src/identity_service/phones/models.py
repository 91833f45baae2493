"""Phones bound by members (encrypted, searchable by keyed hash) and merge candidates."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.models import Base


class MemberPhone(Base):
    """A phone number bound by a member; one phone belongs to one member."""

    __tablename__ = "member_phones"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    # HMAC-SHA256 of the E.164-like number under a derived key: equality search only.
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    country_code: Mapped[str] = mapped_column(Text)
    masked: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # When phone_bound with the sealed number was published for this row; NULL on rows bound
    # before phones were sealed, until phones.republish has republished them.
    sealed_published_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=True
    )

    __table_args__ = (
        CheckConstraint("source IN ('code', 'encrypted_data')", name="source"),
        Index("ix_member_phones_sealed_unpublished", "id", postgresql_where=text("sealed_published_at IS NULL")),
    )


class PhoneConflict(Base):
    """A member tried to bind a phone another member holds: a merge candidate for staff."""

    __tablename__ = "phone_conflicts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary)
    masked: Mapped[str] = mapped_column(Text)
    member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    owner_member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'merged', 'dismissed')", name="status"),
        Index("ix_phone_conflicts_open", "id", postgresql_where=text("status = 'open'")),
    )
