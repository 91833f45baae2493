"""SQL of mini-program sessions and refresh tokens."""

from datetime import datetime
from uuid import UUID

import asyncpg
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.sessions.models import MpSession, RefreshToken

# Bulk updates leave loaded objects alone (no implicit expiry and lazy reload
# under asyncio); code that needs the new values re-reads them.
NO_SYNC = {"synchronize_session": False}


async def create(
    session: AsyncSession,
    *,
    session_id: UUID,
    member_no: int,
    appid: str,
    openid: str,
    session_key_enc: bytes,
    token_hash: bytes,
    token_expires_at: datetime,
) -> None:
    """Record a login and its first refresh token (one statement: logins are the hot path)."""
    new_session = insert(MpSession).values(
        id=session_id, member_no=member_no, appid=appid, openid=openid, session_key_enc=session_key_enc
    )
    await session.execute(
        insert(RefreshToken)
        .values(token_hash=token_hash, session_id=session_id, expires_at=token_expires_at)
        .add_cte(new_session.cte("new_session"))
    )


# A returning member's whole login in one autocommit statement: the member of
# (appid, openid), locked FOR SHARE so a merge in progress finishes first (and
# a member it retired no longer matches), gets the session and its first
# refresh token. No row when the login teaches something new (an unknown
# openid, a UnionID not yet recorded): the caller takes the full path.
_RETURNING_LOGIN = """
    WITH known AS (
        SELECT m.member_no
        FROM member_openids o JOIN members m ON m.member_no = o.member_no
        WHERE o.appid = $1 AND o.openid = $2 AND m.status = 'active'
          AND ($3::text IS NULL OR (m.unionid = $3 AND o.unionid = $3))
        FOR SHARE OF m
    ), new_session AS (
        INSERT INTO mp_sessions (id, member_no, appid, openid, session_key_enc)
        SELECT $4, member_no, $1, $2, $5 FROM known
        RETURNING member_no
    ), first_token AS (
        INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
        SELECT $6, $4, $7 FROM new_session
        RETURNING 1
    )
    SELECT member_no FROM new_session, first_token
"""


async def record_returning_login(
    pool: asyncpg.Pool,
    *,
    appid: str,
    openid: str,
    unionid: str | None,
    session_id: UUID,
    session_key_enc: bytes,
    token_hash: bytes,
    token_expires_at: datetime,
) -> int | None:
    """Record the login of a known, active member in one statement; its member number, or None."""
    async with pool.acquire() as conn:
        member_no: int | None = await conn.fetchval(
            _RETURNING_LOGIN, appid, openid, unionid, session_id, session_key_enc, token_hash, token_expires_at
        )
    return member_no


async def get(session: AsyncSession, session_id: UUID) -> MpSession | None:
    """A session by id."""
    return await session.scalar(
        select(MpSession).where(MpSession.id == session_id).execution_options(populate_existing=True)
    )


async def latest_for(session: AsyncSession, *, member_no: int, appid: str) -> MpSession | None:
    """The member's most recent unrevoked login in ``appid`` (its session_key is the current one)."""
    return await session.scalar(
        select(MpSession)
        .where(MpSession.member_no == member_no, MpSession.appid == appid, MpSession.revoked_at.is_(None))
        .order_by(MpSession.created_at.desc(), MpSession.id.desc())
        .limit(1)
    )


async def add_refresh_token(
    session: AsyncSession, *, session_id: UUID, token_hash: bytes, expires_at: datetime
) -> None:
    """Store a new refresh token of a session."""
    await session.execute(
        insert(RefreshToken).values(token_hash=token_hash, session_id=session_id, expires_at=expires_at)
    )


async def refresh_token_for_update(session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
    """The refresh token, locked: two concurrent exchanges of one token are serialised."""
    return await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == token_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def mark_used(session: AsyncSession, token_hash: bytes) -> None:
    """The token has been exchanged."""
    await session.execute(
        update(RefreshToken).where(RefreshToken.token_hash == token_hash).values(used_at=func.now()),
        execution_options=NO_SYNC,
    )


async def revoke(session: AsyncSession, session_id: UUID, *, reason: str) -> None:
    """Revoke a session (the whole refresh-token family)."""
    await session.execute(
        update(MpSession)
        .where(MpSession.id == session_id, MpSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason),
        execution_options=NO_SYNC,
    )


async def move_member(session: AsyncSession, *, from_no: int, into_no: int) -> int:
    """Re-key a merged member's sessions to the survivor; returns how many."""
    result = await session.execute(
        update(MpSession)
        .where(MpSession.member_no == from_no)
        .values(member_no=into_no)
        .returning(MpSession.id),
        execution_options=NO_SYNC,
    )
    return len(result.all())
