"""Members (one per person), their per-app openids, and the record of merges."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.models import Base

FIRST_MEMBER_NO = 10001


class Member(Base):
    """One person. The member number comes from a sequence and is never reused."""

    __tablename__ = "members"

    # GENERATED ALWAYS: nobody can pick (or re-pick) a number by hand.
    member_no: Mapped[int] = mapped_column(
        BigInteger,
        Identity(always=True, start=FIRST_MEMBER_NO, minvalue=FIRST_MEMBER_NO, cycle=False),
        primary_key=True,
    )
    unionid: Mapped[str | None] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    merged_into: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    first_app: Mapped[str] = mapped_column(Text)
    channel_scene: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Asia/Shanghai day of the last mini-program login: the login statement emits
    # identity.member.logged_in only when it moves this (once per member and day).
    last_login_day: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'merged')", name="status"),
        CheckConstraint("(status = 'merged') = (merged_into IS NOT NULL)", name="merged_has_target"),
    )


class MemberOpenid(Base):
    """The openid of a member in one app; (appid, openid) belongs to exactly one member."""

    __tablename__ = "member_openids"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    app: Mapped[str] = mapped_column(Text)
    appid: Mapped[str] = mapped_column(Text)
    openid: Mapped[str] = mapped_column(Text, index=True)
    # The UnionID WeChat reported with this openid (audit; the member row is the key).
    unionid: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("appid", "openid"),
        CheckConstraint("app IN ('mp', 'oa', 'web')", name="app"),
    )


class MemberMerge(Base):
    """Two members found to be one person: who merged what, when and why."""

    __tablename__ = "member_merges"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    from_member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    into_member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    # "system" or "staff:<id>:<username>".
    actor: Mapped[str] = mapped_column(Text)
    # What moved: openids, phones, follow records, sessions, the UnionID.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
