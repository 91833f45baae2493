"""Consumers of group sightings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity.handlers import touch
from metrics_service.communities import repository
from metrics_service.summaries.service import mark_sighting
from shared.contracts import parse
from shared.contracts.campaign import CommunityMemberSeen
from shared.events import Envelope


async def on_member_seen(session: AsyncSession, envelope: Envelope) -> None:
    """A member opened a card shared in a group: seen there, and active that day."""
    data = parse(envelope, CommunityMemberSeen)
    await repository.member_seen(
        session, community_id=data.community_id, open_gid=data.open_gid, member_no=data.member_no,
        at=envelope.occurred_at,
    )
    mark_sighting(session, community_id=data.community_id, member_no=data.member_no, at=envelope.occurred_at)
    await touch(session, member_no=data.member_no, at=envelope.occurred_at)


HANDLERS = {"campaign.community.member_seen": on_member_seen}
