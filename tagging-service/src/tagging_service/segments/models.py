"""Saved segments (人群圈选) and frozen snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tagging_service.models import Base


class Segment(Base):
    """A saved definition (dynamic) or a frozen list of member numbers (static)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    rank: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # dynamic | static
    kind: Mapped[str] = mapped_column(Text, server_default="dynamic")
    # A static segment's members: a serialised Roaring bitmap.
    frozen: Mapped[bytes | None] = mapped_column(LargeBinary)
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SegmentReference(Base):
    """Segment ``segment_id`` uses segment ``uses_id`` (cycle checks, refusing deletes)."""

    __tablename__ = "segment_references"

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    uses_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), primary_key=True, index=True)
