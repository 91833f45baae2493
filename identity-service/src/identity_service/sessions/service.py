"""Mini-program login and session refresh.

A login exchanges the ``wx.login`` code with WeChat, resolves the member,
stores the session_key encrypted and opens a refresh-token family. A refresh
rotates the token; presenting a used token again revokes the whole family.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import TypedDict
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uuid_utils.compat import uuid7

from identity_service.crypto import token_digest
from identity_service.deps import IdentityContext
from identity_service.errors import RecordedFailure
from identity_service.members.service import active_member, display_no, resolve_openid
from identity_service.sessions import repository
from identity_service.sessions.errors import refresh_token_invalid, refresh_token_reused, session_revoked
from identity_service.sessions.models import MpSession
from identity_service.sessions.schemas import SessionRead
from identity_service.wechat_calls import login_problem
from shared.auth import MEMBER_TTL, MemberPrincipal, TokenCodec
from shared.contracts.identity import AccessRevoked, MemberLoggedIn
from shared.db import unit_of_work
from shared.errors import UpstreamError
from shared.events.envelope import utcnow
from shared.events.outbox import WAKE_KEY, emit
from shared.wechat.errors import WeChatError

log = structlog.get_logger("identity.sessions")

SESSION_KEY_CONTEXT = "session_key"
LOGIN_DAY_ZONE = ZoneInfo("Asia/Shanghai")


class _LoginRow(TypedDict):
    """The columns of a new login that both ways of recording it take."""

    session_id: UUID
    session_key_enc: bytes
    token_hash: bytes
    token_expires_at: datetime


async def login(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    ctx: IdentityContext,
    tokens: TokenCodec,
    pool: asyncpg.Pool | None,
    code: str,
    now: datetime | None = None,
) -> SessionRead:
    """Exchange a ``wx.login`` code for a member token and a refresh token.

    ``now`` is the (test) clock's time of the login: the first login of each
    Asia/Shanghai day emits ``identity.member.logged_in``, inside the same
    statement or unit of work as the session.

    A returning member takes one statement on the driver pool (``pool``);
    a first login, or one that links a UnionID, resolves the member in a
    unit of work of its own with the locks of identity resolution.
    """
    app = ctx.apps.mp
    try:
        answer = await ctx.call_wechat(lambda: ctx.api.jscode2session(app.appid, app.secret, code))
    except WeChatError as exc:
        log.info("login_rejected_by_wechat", errcode=exc.errcode)
        raise login_problem(exc, retry_after=ctx.retry_after) from exc
    openid, session_key = answer.get("openid"), answer.get("session_key")
    if not openid or not session_key:
        raise UpstreamError(
            "微信登录返回的数据不完整。", slug="wechat-bad-answer", title="Incomplete WeChat answer"
        )
    openid, unionid = str(openid), answer.get("unionid") or None
    session_id = uuid7()
    refresh_token, digest, expires_at = _new_refresh_token(ctx)
    login_row: _LoginRow = {
        "session_id": session_id,
        "session_key_enc": ctx.cipher.encrypt(str(session_key), context=SESSION_KEY_CONTEXT),
        "token_hash": digest,
        "token_expires_at": expires_at,
    }
    moment = now or utcnow()
    day = login_day(moment)
    member_no = None
    if pool is not None:
        event = repository.login_event(app="mp", day_of=moment, source=ctx.settings.service_name)
        known = await repository.record_returning_login(
            pool, appid=app.appid, openid=openid, unionid=unionid, day=day, event=event, **login_row
        )
        if known is not None:
            member_no, logged_in_today = known
            if logged_in_today:
                _wake_relay(session_factory)
    if member_no is None:
        async with unit_of_work(session_factory) as session:
            resolution = await resolve_openid(
                session, app="mp", appid=app.appid, openid=openid, unionid=unionid
            )
            member_no = resolution.member.member_no
            await repository.create(session, member_no=member_no, appid=app.appid, openid=openid, **login_row)
            if await repository.move_login_day(session, member_no=member_no, day=day):
                await emit(
                    session, MemberLoggedIn(member_no=member_no, app="mp", occurred_at=moment),
                    member_no=member_no, occurred_at=moment,
                )
    return _answer(tokens, session_id=session_id, member_no=member_no, refresh_token=refresh_token)


def login_day(moment: datetime) -> date:
    """The Asia/Shanghai day of a login (one ``identity.member.logged_in`` per member and day)."""
    return moment.astimezone(LOGIN_DAY_ZONE).date()


def _wake_relay(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The one-statement path wrote an outbox row outside a session: wake this process's relay.

    Without an in-process relay (a separate worker) its poll picks the row up.
    """
    wake = session_factory.kw.get("info", {}).get(WAKE_KEY)
    if wake is not None:
        wake()


async def refresh(
    session: AsyncSession, *, ctx: IdentityContext, tokens: TokenCodec, refresh_token: str
) -> SessionRead:
    """Rotate a refresh token; reuse of an exchanged one revokes its family (RecordedFailure)."""
    digest = token_digest(refresh_token)
    row = await repository.refresh_token_for_update(session, digest)
    if row is None:
        raise refresh_token_invalid()
    mp_session = await repository.get(session, row.session_id)
    if mp_session is None or mp_session.revoked_at is not None:
        raise refresh_token_invalid()
    if row.used_at is not None:
        log.warning("refresh_token_reused", session_id=str(row.session_id), member_no=mp_session.member_no)
        await repository.revoke(session, row.session_id, reason="refresh-token-reuse")
        await emit(
            session,
            AccessRevoked(kind="member_session", subject=str(row.session_id), revoked_at=utcnow(),
                          reason="refresh-token-reuse", member_no=mp_session.member_no),
            member_no=mp_session.member_no,
        )
        raise RecordedFailure(refresh_token_reused())
    if row.expires_at <= utcnow():
        raise refresh_token_invalid()
    await repository.mark_used(session, digest)
    member = await active_member(session, mp_session.member_no)
    refresh_token, digest, expires_at = _new_refresh_token(ctx)
    await repository.add_refresh_token(
        session, session_id=mp_session.id, token_hash=digest, expires_at=expires_at
    )
    return _answer(tokens, session_id=mp_session.id, member_no=member.member_no, refresh_token=refresh_token)


async def ensure_active(session: AsyncSession, principal: MemberPrincipal) -> None:
    """Refuse a member whose session (the token's ``sid``) was revoked."""
    if not principal.session_id:
        return
    try:
        session_id = UUID(principal.session_id)
    except ValueError:
        raise session_revoked() from None
    mp_session = await repository.get(session, session_id)
    if mp_session is None or mp_session.revoked_at is not None:
        raise session_revoked()


def decrypt_session_key(ctx: IdentityContext, mp_session: MpSession) -> str:
    """The plaintext session_key of a login (only ever used inside this service)."""
    return ctx.cipher.decrypt(mp_session.session_key_enc, context=SESSION_KEY_CONTEXT)


def _new_refresh_token(ctx: IdentityContext) -> tuple[str, bytes, datetime]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token), utcnow() + timedelta(days=ctx.settings.refresh_token_ttl_days)


def _answer(tokens: TokenCodec, *, session_id: UUID, member_no: int, refresh_token: str) -> SessionRead:
    return SessionRead(
        token=tokens.issue_member(member_no, session_id=str(session_id)),
        refresh_token=refresh_token,
        expires_in=MEMBER_TTL,
        member_no=member_no,
        member_no_display=display_no(member_no),
    )
