"""The event log export: a service's published outbox rows, in publication order.

Each service keeps its published outbox rows as its event log, so projections
elsewhere (metrics, tagging's facts) can be rebuilt after Kafka's retention —
or, with the embedded broker, a restart — dropped the events. Mount
:data:`router` on a service (``shared.runtime`` is the place) and a consumer
pages through ``GET /internal/events?after=<position>&limit=`` with an
internal token; ``next_after`` is the position to ask from next, ``null`` at
the end of the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from shared.auth import InternalCallerDep
from shared.events.outbox import OutboxMessage
from shared.fields import BIGINT_MAX
from shared.routing import SessionDep

MAX_LIMIT = 5000

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)


class LoggedEvent(BaseModel):
    """One published event: its position in the log, its topic and key, and the envelope as sent."""

    position: int
    topic: str
    key: str | None
    published_at: datetime | None
    envelope: dict[str, Any]


class EventLogPage(BaseModel):
    """A page of the event log."""

    items: list[LoggedEvent]
    next_after: int | None


@router.get("/events")
async def export_events(
    _: InternalCallerDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=BIGINT_MAX, description="position of the last event already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
) -> EventLogPage:
    """Published events after ``after``, in publication (outbox id) order."""
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id > after, OutboxMessage.published_at.is_not(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    ).all()
    items = [
        LoggedEvent(position=r.id, topic=r.topic, key=r.key, published_at=r.published_at, envelope=r.envelope)
        for r in rows
    ]
    return EventLogPage(items=items, next_after=items[-1].position if len(items) == limit else None)
