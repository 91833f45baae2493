"""Tag groups, tags, member tags (current and removed) and the change log the bitmap index follows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tagging_service.models import Base


class TagGroup(Base):
    """A named group of tags (e.g. 学习偏好)."""

    __tablename__ = "tag_groups"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Tag(Base):
    """A tag: ``manual`` (staff), ``rule`` (auto-tagging) or ``system`` (e.g. the blocklist)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("tag_groups.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    colour: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="manual")
    # A stable key for the tags the service itself relies on ("blocked").
    system_key: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_tags_group_name_live", "group_id", "name", unique=True,
              postgresql_where=text("deleted_at IS NULL")),
    )


class MemberTag(Base):
    """A tag a member carries now, with where it came from and why."""

    __tablename__ = "member_tags"

    member_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True, index=True)
    # staff | rule | import | system
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Only tags that expire: the expiry sweep never looks for the others.
        Index("ix_member_tags_expires_at", "expires_at", postgresql_where=text("expires_at IS NOT NULL")),
    )


class MemberTagHistory(Base):
    """A member tag that was removed (by staff, a rule, expiry or a merge): kept for the record."""

    __tablename__ = "member_tag_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    member_no: Mapped[int] = mapped_column(BigInteger, index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"))
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # staff | rule | expiry | merge | tag-deleted
    removed_by: Mapped[str] = mapped_column(Text)
    removed_by_id: Mapped[int | None] = mapped_column(BigInteger)


class IndexChange(Base):
    """One change the in-memory bitmaps must follow: members gained or lost a tag, or appeared.

    ``kind`` is ``tag`` (``key`` = tag id) or ``member`` (``key`` = 0, the universe of members).
    A bulk change names its members in ``member_nos`` (one row per statement, not per member), a
    single one in ``member_no``. Every process polls this log, so a change made by any replica is
    visible within a second.
    """

    __tablename__ = "index_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    key: Mapped[int] = mapped_column(BigInteger)
    member_no: Mapped[int | None] = mapped_column(BigInteger)
    member_nos: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    added: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp(),
                                         index=True)

    __table_args__ = (
        CheckConstraint("member_no IS NOT NULL OR member_nos IS NOT NULL", name="ck_index_changes_names_members"),
    )
