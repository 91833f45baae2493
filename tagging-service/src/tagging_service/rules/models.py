"""Auto-tagging rules and their back-fill jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tagging_service.models import Base


class TagRule(Base):
    """When a member meets ``condition``, apply (or remove) ``tag_id``."""

    __tablename__ = "tag_rules"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    condition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # apply | remove
    action: Mapped[str] = mapped_column(Text)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"))
    expires_in_days: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RuleBackfill(Base):
    """The back-fill of one rule version over every member: state and progress."""

    __tablename__ = "rule_backfills"

    rule_id: Mapped[int] = mapped_column(ForeignKey("tag_rules.id"), primary_key=True)
    rule_version: Mapped[int] = mapped_column(Integer)
    # pending | running | done | failed
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    changed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DirtyMember(Base):
    """A mark: a member whose facts changed since the rules last looked at them.

    One row per mark, never merged into a member's earlier row: a mark merged
    into a row the sweep was taking was lost with it (migration e3b9d5a1c7f4).
    """

    __tablename__ = "rule_dirty_members"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
