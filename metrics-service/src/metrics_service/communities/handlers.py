"""Consumers of group sightings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity.handlers import touch
from metrics_service.communities import repository
from metrics_service.summaries.service import mark_series, mark_sighting
from shared.contracts import parse
from shared.contracts.campaign import CommunityLinked, CommunityMemberSeen, CommunityUnlinked
from shared.events import Envelope


async def on_member_seen(session: AsyncSession, envelope: Envelope) -> None:
    """A member opened a card shared in a group: seen there, and active that day."""
    data = parse(envelope, CommunityMemberSeen)
    await repository.member_seen(
        session, community_id=data.community_id, open_gid=data.open_gid, member_no=data.member_no,
        at=envelope.occurred_at,
    )
    periods = await repository.periods_of_sighting(
        session, community_id=data.community_id, at=envelope.occurred_at,
        named=data.period_ids or ([data.period_id] if data.period_id is not None else []),
    )
    await repository.period_seen(
        session, period_ids=periods, community_id=data.community_id, member_no=data.member_no,
        at=envelope.occurred_at,
    )
    mark_sighting(
        session, community_id=data.community_id, member_no=data.member_no, at=envelope.occurred_at,
        period_ids=periods,
    )
    await touch(session, member_no=data.member_no, at=envelope.occurred_at)


async def on_linked(session: AsyncSession, envelope: Envelope) -> None:
    """Staff linked a group to a period: its sightings from then on count for that period."""
    data = parse(envelope, CommunityLinked)
    await repository.linked(
        session, community_id=data.community_id, open_gid=data.open_gid, period_id=data.period_id,
        series_id=data.series_id, at=data.occurred_at,
    )
    await repository.backfill_link(session, community_id=data.community_id, period_id=data.period_id)
    mark_series(session, data.series_id)


async def on_unlinked(session: AsyncSession, envelope: Envelope) -> None:
    """A group's link to a period ended."""
    data = parse(envelope, CommunityUnlinked)
    await repository.unlinked(session, community_id=data.community_id, period_id=data.period_id, at=data.occurred_at)
    mark_series(session, data.series_id)


HANDLERS = {
    "campaign.community.member_seen": on_member_seen,
    "campaign.community.linked": on_linked,
    "campaign.community.unlinked": on_unlinked,
}
