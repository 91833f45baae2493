"""The audience projections from identity (openid ↔ member, follows, merges) and tagging (blocklist)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.audience import repository
from shared.contracts import parse
from shared.contracts.identity import (
    IdentityLinked,
    MemberCreated,
    MemberMerged,
    MemberUnfollowed,
)
from shared.contracts.tagging import MemberBlocked, MemberUnblocked
from shared.events import Envelope


async def on_created(session: AsyncSession, envelope: Envelope) -> None:
    """A new member and their first openid."""
    data = parse(envelope, MemberCreated)
    if data.app in ("mp", "oa"):
        await repository.link_openid(session, openid=data.openid, app=data.app, member_no=data.member_no)


async def on_linked(session: AsyncSession, envelope: Envelope) -> None:
    """Another openid of an existing member."""
    data = parse(envelope, IdentityLinked)
    if data.openid and data.app in ("mp", "oa"):
        await repository.link_openid(session, openid=data.openid, app=data.app, member_no=data.member_no)


async def on_unfollowed(session: AsyncSession, envelope: Envelope) -> None:
    """A member stopped following."""
    data = parse(envelope, MemberUnfollowed)
    await repository.link_openid(session, openid=data.openid, app="oa", member_no=data.member_no)
    await repository.set_following(session, openid=data.openid, following=False, at=data.unfollowed_at)


async def on_merged(session: AsyncSession, envelope: Envelope) -> None:
    """Two members were one person: re-key to the survivor."""
    data = parse(envelope, MemberMerged)
    await repository.rekey(session, from_no=data.from_member_no, into_no=data.into_member_no)


async def on_blocked(session: AsyncSession, envelope: Envelope) -> None:
    """On the blocklist: no more marketing sends."""
    data = parse(envelope, MemberBlocked)
    await repository.block(session, member_no=data.member_no, reason=data.reason, at=envelope.occurred_at)


async def on_unblocked(session: AsyncSession, envelope: Envelope) -> None:
    """Off the blocklist."""
    data = parse(envelope, MemberUnblocked)
    await repository.unblock(session, member_no=data.member_no)
