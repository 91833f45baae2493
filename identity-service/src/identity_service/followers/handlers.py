"""Consumers of wechat.inbound: subscribe, unsubscribe and SCAN of the service account."""

from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.deps import context_of
from identity_service.followers import service
from shared.contracts import parse
from shared.contracts.gateway import Scanned, Subscribed, Unsubscribed
from shared.events import Envelope
from shared.kafka.consumer import ConsumerSpec
from shared.kafka.topics import WECHAT_INBOUND
from shared.runtime import ServiceRuntime


def consumers(runtime: ServiceRuntime) -> list[ConsumerSpec]:
    """The identity service's consumers."""

    async def on_subscribed(session: AsyncSession, envelope: Envelope) -> None:
        await service.on_subscribed(session, ctx=context_of(runtime), data=parse(envelope, Subscribed))

    async def on_unsubscribed(session: AsyncSession, envelope: Envelope) -> None:
        await service.on_unsubscribed(session, ctx=context_of(runtime), data=parse(envelope, Unsubscribed))

    async def on_scanned(session: AsyncSession, envelope: Envelope) -> None:
        await service.on_scanned(session, ctx=context_of(runtime), data=parse(envelope, Scanned))

    return [
        ConsumerSpec(
            name="followers",
            topics=[WECHAT_INBOUND],
            handlers={
                "wechat.inbound.subscribed": on_subscribed,
                "wechat.inbound.unsubscribed": on_unsubscribed,
                "wechat.inbound.scanned": on_scanned,
            },
        )
    ]
