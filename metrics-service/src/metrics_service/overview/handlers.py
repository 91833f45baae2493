"""Consumers of identity's events: new members, follows, openids, merges."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import bitmaps
from metrics_service.activity import repository as activity
from metrics_service.activity.handlers import flush, mark_new, touch
from metrics_service.campaigns import repository as campaigns
from metrics_service.communities import repository as communities
from metrics_service.overview import repository
from metrics_service.summaries import service as summaries
from shared.contracts import parse
from shared.contracts.identity import (
    IdentityLinked,
    MemberCreated,
    MemberFollowed,
    MemberLoggedIn,
    MemberMerged,
    MemberUnfollowed,
)
from shared.events import Envelope


async def on_member_created(session: AsyncSession, envelope: Envelope) -> None:
    """A new person: a new member on their first day, active that day."""
    data = parse(envelope, MemberCreated)
    day = definitions.local_day(envelope.occurred_at)
    if await repository.add_member_fact(
        session, member_no=data.member_no, seen_at=envelope.occurred_at, seen_date=day,
        app=data.app, channel_scene=data.channel_scene,
    ):
        await repository.add_counters(session, {(day, "new_members"): 1})
        mark_new(session, member_no=data.member_no, day=day)
    await activity.remember_openid(session, openid=data.openid, member_no=data.member_no)
    await touch(session, member_no=data.member_no, at=envelope.occurred_at)


async def on_identity_linked(session: AsyncSession, envelope: Envelope) -> None:
    """Another openid of a member: their pushes resolve to them from now on."""
    data = parse(envelope, IdentityLinked)
    if data.openid:
        await activity.remember_openid(session, openid=data.openid, member_no=data.member_no)


async def on_member_logged_in(session: AsyncSession, envelope: Envelope) -> None:
    """A member's first login of a day: active that day (not "active in the mini-program", see definitions)."""
    data = parse(envelope, MemberLoggedIn)
    await touch(session, member_no=data.member_no, at=data.occurred_at)


async def on_member_followed(session: AsyncSession, envelope: Envelope) -> None:
    """A follow counts once per change from not following (a scan while following is no new follow)."""
    data = parse(envelope, MemberFollowed)
    await activity.remember_openid(session, openid=data.openid, member_no=data.member_no)
    summaries.mark_member(session, data.member_no)
    if await campaigns.followed(session, member_no=data.member_no, scene=data.scene, at=data.followed_at):
        await repository.add_counters(session, {(definitions.local_day(data.followed_at), "follows"): 1})
    await touch(session, member_no=data.member_no, at=data.followed_at)


async def on_member_unfollowed(session: AsyncSession, envelope: Envelope) -> None:
    """An unfollow of a follower."""
    data = parse(envelope, MemberUnfollowed)
    if await campaigns.unfollowed(session, member_no=data.member_no):
        await repository.add_counters(session, {(definitions.local_day(data.unfollowed_at), "unfollows"): 1})


async def on_member_merged(session: AsyncSession, envelope: Envelope) -> None:
    """Two members were one person: every projection re-keys onto the kept number."""
    data = parse(envelope, MemberMerged)
    await flush(session)  # what this batch recorded for the old number moves too
    await summaries.flush(session)
    await repository.mark_merged(session, from_member_no=data.from_member_no, into_member_no=data.into_member_no)
    for module in (activity, bitmaps, campaigns, communities):
        await module.merge_member(session, from_no=data.from_member_no, into_no=data.into_member_no)
    await summaries.rekey_member(session, from_no=data.from_member_no, into_no=data.into_member_no)


HANDLERS = {
    "identity.member.created": on_member_created,
    "identity.member.identity_linked": on_identity_linked,
    "identity.member.logged_in": on_member_logged_in,
    "identity.member.followed": on_member_followed,
    "identity.member.unfollowed": on_member_unfollowed,
    "identity.member.merged": on_member_merged,
}
