"""Idempotent inbox: a consumer claims ``(consumer, event_id)`` in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Text, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from shared.db import SharedBase


class ProcessedEvent(SharedBase):
    """An event a consumer has already applied (or parked on the DLQ)."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    outcome: Mapped[str] = mapped_column(Text, server_default="applied")
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


async def claim(
    session: AsyncSession, *, consumer: str, event_ids: Sequence[UUID], outcome: str = "applied"
) -> set[UUID]:
    """Claim events for ``consumer``; returns the ids not seen before.

    The claim and the handler's effects commit together, so a redelivery after
    a crash finds the claim and is a no-op.
    """
    if not event_ids:
        return set()
    # One statement with an array parameter: compiled once and cached, where
    # a VALUES list of a different length each batch is compiled every time.
    result = await session.execute(
        _CLAIM, {"consumer": consumer, "event_ids": list(event_ids), "outcome": outcome}
    )
    return set(result.scalars().all())


_CLAIM = text(
    """
    INSERT INTO processed_events (consumer, event_id, outcome)
    SELECT :consumer, ids.event_id, :outcome FROM unnest(CAST(:event_ids AS uuid[])) AS ids(event_id)
    ON CONFLICT (consumer, event_id) DO NOTHING
    RETURNING event_id
    """
)


async def was_processed(session: AsyncSession, *, consumer: str, event_id: UUID) -> bool:
    """Whether ``consumer`` already recorded ``event_id``."""
    found = await session.scalar(
        select(ProcessedEvent.event_id).where(
            ProcessedEvent.consumer == consumer, ProcessedEvent.event_id == event_id
        )
    )
    return found is not None
