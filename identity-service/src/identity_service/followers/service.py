"""Follow state from the service account's push events (wechat.inbound).

A new follower's UnionID is learnt from ``cgi-bin/user/info`` so that its
openid joins the mini-program member of the same person (or the two merge).
Events arrive keyed by openid, in order per openid; a late event older than
the state it would change is ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.deps import IdentityContext
from identity_service.followers import repository
from identity_service.followers.models import Follower
from identity_service.members import repository as members_repository
from identity_service.members.models import Member
from identity_service.members.service import active_member, resolve_openid
from shared.contracts.gateway import InboundBase, Scanned, Subscribed, Unsubscribed
from shared.contracts.identity import MemberFollowed, MemberUnfollowed
from shared.errors import ServiceError
from shared.events.outbox import emit
from shared.wechat.errors import WeChatError

log = structlog.get_logger("identity.followers")

QR_SCENE_PREFIX = "qrscene_"


def scene_of(raw: str | None) -> str | None:
    """The channel scene without WeChat's ``qrscene_`` prefix (subscribe carries it, SCAN does not)."""
    if not raw:
        return None
    return raw.removeprefix(QR_SCENE_PREFIX) or None


async def on_subscribed(session: AsyncSession, *, ctx: IdentityContext, data: Subscribed) -> None:
    """A user followed the service account."""
    scene = scene_of(data.scene)
    at = data.create_time
    recorded = await _record(
        session, ctx, data, scene=scene, learn_unionid=True,
        changes={"subscribed": True, "subscribed_at": at, "subscribe_scene": scene},
    )
    if recorded is None:
        return
    member, follower = recorded
    follower.first_subscribed_at = follower.first_subscribed_at or at
    await emit(
        session,
        MemberFollowed(
            member_no=member.member_no, appid=data.appid, openid=data.openid, scene=scene, followed_at=at
        ),
        member_no=member.member_no,
    )


async def on_scanned(session: AsyncSession, *, ctx: IdentityContext, data: Scanned) -> None:
    """A follower scanned a channel QR code (without a row yet, we missed its subscribe)."""
    scene = scene_of(data.scene)
    at = data.create_time
    recorded = await _record(
        session, ctx, data, scene=scene, learn_unionid=True,
        changes={"subscribed": True, "last_scan_scene": scene, "last_scanned_at": at},
    )
    if recorded is None:
        return
    member, _ = recorded
    await emit(
        session,
        MemberFollowed(
            member_no=member.member_no, appid=data.appid, openid=data.openid, scene=scene, followed_at=at
        ),
        member_no=member.member_no,
    )


async def on_unsubscribed(session: AsyncSession, *, ctx: IdentityContext, data: Unsubscribed) -> None:
    """A user unfollowed the service account."""
    at = data.create_time
    # user/info tells nothing about non-followers: no UnionID to learn here.
    recorded = await _record(
        session, ctx, data, scene=None, learn_unionid=False,
        changes={"subscribed": False, "unsubscribed_at": at},
    )
    if recorded is None:
        return
    member, _ = recorded
    await emit(
        session,
        MemberUnfollowed(member_no=member.member_no, appid=data.appid, openid=data.openid, unfollowed_at=at),
        member_no=member.member_no,
    )


async def _record(
    session: AsyncSession,
    ctx: IdentityContext,
    data: InboundBase,
    *,
    scene: str | None,
    learn_unionid: bool,
    changes: dict[str, Any],
) -> tuple[Member, Follower] | None:
    """Apply ``changes`` to the openid's follow row (created when missing).

    None when the event is for another account or older than the row's state.
    """
    if not _is_our_account(ctx, data):
        return None
    # Member first (advisory locks, then the member row), follow row second: the
    # same lock order as a merge, which moves follow rows.
    member = await _member_for(session, ctx, data, scene=scene, learn_unionid=learn_unionid)
    follower = await repository.get_for_update(session, appid=data.appid, openid=data.openid)
    at = data.create_time
    if follower is None:
        follower = Follower(
            appid=data.appid, openid=data.openid, member_no=member.member_no, last_event_at=at, **changes
        )
        await repository.add(session, follower)
    elif _is_stale(follower, at):
        return None
    else:
        for name, value in {"member_no": member.member_no, "last_event_at": at, **changes}.items():
            setattr(follower, name, value)
    return member, follower


async def fetch_unionid(ctx: IdentityContext, *, appid: str, openid: str) -> str | None:
    """The UnionID of a service-account follower from ``cgi-bin/user/info`` (best effort)."""
    try:
        info = await ctx.access_tokens.call(appid, lambda token: ctx.api.user_info(token, openid))
    except (WeChatError, ServiceError) as exc:
        # The follow is recorded anyway; the UnionID can arrive with a later login.
        log.warning("user_info_failed", appid=appid, error=str(exc))
        return None
    if not info.get("subscribe"):
        return None
    unionid = info.get("unionid")
    return str(unionid) if unionid else None


async def _member_for(
    session: AsyncSession, ctx: IdentityContext, data: InboundBase, *, scene: str | None, learn_unionid: bool
) -> Member:
    unionid: str | None = None
    if learn_unionid:
        known = await members_repository.openid_row(session, appid=data.appid, openid=data.openid)
        member = await active_member(session, known.member_no) if known is not None else None
        if member is None or member.unionid is None:
            unionid = await fetch_unionid(ctx, appid=data.appid, openid=data.openid)
    resolution = await resolve_openid(
        session, app="oa", appid=data.appid, openid=data.openid, unionid=unionid, channel_scene=scene
    )
    return resolution.member


def _is_our_account(ctx: IdentityContext, data: InboundBase) -> bool:
    app = ctx.apps.get(data.appid)
    if app is None or app.kind != "oa":
        log.info("push_for_other_app_ignored", appid=data.appid, app=data.app)
        return False
    return True


def _is_stale(follower: Follower, at: datetime) -> bool:
    if follower.last_event_at is not None and at < follower.last_event_at:
        log.info("late_follow_event_ignored", openid=follower.openid, at=at.isoformat())
        return True
    return False
