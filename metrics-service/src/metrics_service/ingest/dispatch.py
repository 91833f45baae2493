"""Which projection each event type feeds, and applying a batch of fresh events in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity import handlers as activity
from metrics_service.campaigns import handlers as campaigns
from metrics_service.communities import handlers as communities
from metrics_service.overview import handlers as overview
from metrics_service.summaries import service as summaries
from shared.events import Envelope
from shared.kafka.topics import (
    APP_ACTIVITY,
    CAMPAIGN_EVENTS,
    IDENTITY_EVENTS,
    MESSAGING_EVENTS,
    TAGGING_EVENTS,
    WECHAT_INBOUND,
)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    **overview.HANDLERS,
    **campaigns.HANDLERS,
    **communities.HANDLERS,
    **activity.HANDLERS,
}
# Telemetry is the volume: folded per batch, never one statement per event.
BATCHED = frozenset({activity.ACTIVITY})
HANDLED_TYPES = frozenset(HANDLERS) | BATCHED

# The consumers: telemetry apart, so its volume never delays the domain facts.
ACTIVITY_TOPICS = [APP_ACTIVITY]
DOMAIN_TOPICS = [IDENTITY_EVENTS, CAMPAIGN_EVENTS, WECHAT_INBOUND, TAGGING_EVENTS, MESSAGING_EVENTS]


async def apply(session: AsyncSession, envelopes: Sequence[Envelope | activity.ActivityItem]) -> None:
    """Apply fresh (already claimed) events in their order; telemetry in one fold per run."""
    pending: list[Envelope | activity.ActivityItem] = []
    for envelope in envelopes:
        if envelope.type in BATCHED:
            pending.append(envelope)
            continue
        if pending:
            await activity.apply_activity(session, pending)
            pending = []
        handler = HANDLERS.get(envelope.type)
        if handler is not None and isinstance(envelope, Envelope):
            await handler(session, envelope)
    if pending:
        await activity.apply_activity(session, pending)
    await activity.flush(session)
    await summaries.flush(session)
