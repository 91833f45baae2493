"""Consumers feeding the overview projections."""

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.overview import repository
from shared.contracts import parse
from shared.contracts.identity import MemberCreated, MemberFollowed, MemberMerged
from shared.events import Envelope
from shared.kafka.consumer import ConsumerSpec
from shared.kafka.topics import IDENTITY_EVENTS
from shared.runtime import ServiceRuntime


def consumers(runtime: ServiceRuntime) -> list[ConsumerSpec]:
    """The metrics service's consumers."""
    tz = ZoneInfo(getattr(runtime.settings, "timezone", "Asia/Shanghai"))

    async def on_member_created(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberCreated)
        local_day = envelope.occurred_at.astimezone(tz).date()
        if await repository.add_member_fact(
            session, member_no=data.member_no, seen_at=envelope.occurred_at, seen_date=local_day,
            app=data.app, channel_scene=data.channel_scene,
        ):
            await repository.increment(session, day=local_day, kind="new_members")

    async def on_member_followed(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberFollowed)
        await repository.increment(session, day=data.followed_at.astimezone(tz).date(), kind="follows")

    async def on_member_merged(session: AsyncSession, envelope: Envelope) -> None:
        data = parse(envelope, MemberMerged)
        await repository.mark_merged(session, from_member_no=data.from_member_no, into_member_no=data.into_member_no)

    return [
        ConsumerSpec(
            name="identity",
            topics=[IDENTITY_EVENTS],
            handlers={
                "identity.member.created": on_member_created,
                "identity.member.followed": on_member_followed,
                "identity.member.merged": on_member_merged,
            },
        )
    ]
