"""Consumers of tagging-service: member facts from identity, campaign, messaging and the mini-program; merges."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import parse
from shared.contracts.identity import MemberMerged
from shared.events import Envelope
from shared.kafka.consumer import ConsumerSpec, Handler
from shared.kafka.topics import APP_ACTIVITY, CAMPAIGN_EVENTS, IDENTITY_EVENTS, MESSAGING_EVENTS
from shared.runtime import ServiceRuntime
from tagging_service.deps import settings_of, utcnow
from tagging_service.facts import repository as facts
from tagging_service.facts.activity import record_activity
from tagging_service.facts.handlers import fact_handlers
from tagging_service.facts.members import ensure_members
from tagging_service.tags import repository as tags_repo
from tagging_service.tags import service as tags


async def on_merged(session: AsyncSession, envelope: Envelope) -> None:
    """``identity.member.merged``: re-key facts, tags, notes and the timeline onto the survivor."""
    data = parse(envelope, MemberMerged)
    if data.from_member_no == data.into_member_no:
        return
    await ensure_members(session, [data.from_member_no, data.into_member_no])
    await tags.merge_members(session, from_member_no=data.from_member_no, into_member_no=data.into_member_no,
                             now=utcnow())
    await facts.merge_facts(session, data.from_member_no, data.into_member_no)
    await tags_repo.record_changes(session, "member", 0, [data.from_member_no], False)
    await facts.mark_dirty(session, [data.into_member_no])


def follow_merges(handler: Handler) -> Handler:
    """Apply an event about a retired member number to its survivor (events of other topics may be late)."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        member_no = envelope.data.get("member_no")
        if isinstance(member_no, int):
            survivor = await facts.survivor_of(session, member_no)
            if survivor != member_no:
                envelope = envelope.model_copy(
                    update={"member_no": survivor, "data": {**envelope.data, "member_no": survivor}}
                )
        await handler(session, envelope)

    return handle


def consumers(runtime: ServiceRuntime) -> list[ConsumerSpec]:
    """The tagging service's consumers: domain facts and (separately, it is the busy one) activity."""
    tz = ZoneInfo(settings_of(runtime).timezone)
    handlers = {k: follow_merges(v) for k, v in fact_handlers(tz).items()}

    async def activity_batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await record_activity(session, envelopes, tz)  # resolves merged members itself

    domain = {k: v for k, v in handlers.items() if not k.startswith("app.")}
    domain["identity.member.merged"] = on_merged
    return [
        ConsumerSpec(name="facts", topics=[IDENTITY_EVENTS, CAMPAIGN_EVENTS, MESSAGING_EVENTS], handlers=domain),
        # One poll, one transaction: activity arrives in thousands of small events.
        ConsumerSpec(name="activity", topics=[APP_ACTIVITY], batch_size=2000,
                     handlers={k: v for k, v in handlers.items() if k.startswith("app.")},
                     batch_handlers={"app.activity.recorded": activity_batch}),
    ]
