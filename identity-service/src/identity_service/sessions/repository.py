"""SQL of mini-program sessions and refresh tokens."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.sessions.models import MpSession, RefreshToken
from shared.contracts.identity import MemberLoggedIn
from shared.events.outbox import outbox_row

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
# (appid, openid), locked so a merge in progress finishes first (and a member
# it retired no longer matches), gets the session and its first refresh
# token. No row when the login teaches something new (an unknown openid, a
# UnionID not yet recorded): the caller takes the full path.
#
# The same statement moves the member's last login day ($8, an Asia/Shanghai
# date) and, only when it changed, writes ``identity.member.logged_in`` to the
# outbox: at most one event per member and day, decided by the row lock. The
# lock is FOR NO KEY UPDATE (not FOR SHARE) because the statement may update
# the row: two shared lockers upgrading at once would deadlock.
_RETURNING_LOGIN = """
    WITH known AS (
        SELECT m.member_no, m.last_login_day
        FROM member_openids o JOIN members m ON m.member_no = o.member_no
        WHERE o.appid = $1 AND o.openid = $2 AND m.status = 'active'
          AND ($3::text IS NULL OR (m.unionid = $3 AND o.unionid = $3))
        FOR NO KEY UPDATE OF m
    ), new_session AS (
        INSERT INTO mp_sessions (id, member_no, appid, openid, session_key_enc)
        SELECT $4, member_no, $1, $2, $5 FROM known
        RETURNING member_no
    ), first_token AS (
        INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
        SELECT $6, $4, $7 FROM new_session
        RETURNING 1
    ), new_day AS (
        UPDATE members m SET last_login_day = $8 FROM known k
        WHERE m.member_no = k.member_no AND m.last_login_day IS DISTINCT FROM $8
        RETURNING m.member_no
    ), login_event AS (
        INSERT INTO outbox (event_id, topic, key, type, envelope)
        SELECT $9, $10, member_no::text, $11,
               $12::jsonb || jsonb_build_object(
                 'member_no', member_no, 'data', $13::jsonb || jsonb_build_object('member_no', member_no))
        FROM new_day
        RETURNING 1
    )
    SELECT member_no, EXISTS (SELECT 1 FROM login_event) AS logged_in_today FROM new_session, first_token
"""


@dataclass(frozen=True)
class LoginEvent:
    """The ``identity.member.logged_in`` outbox row a login may write (the member filled in by SQL)."""

    event_id: UUID
    topic: str
    type: str
    envelope: str  # JSON of the envelope without ``member_no``
    data: str  # JSON of the payload without ``member_no``


def login_event(*, app: str, day_of: datetime, source: str) -> LoginEvent:
    """The outbox row of a login at ``day_of``, for :func:`record_returning_login` to write if the day is new."""
    row = outbox_row(
        MemberLoggedIn(member_no=0, app=app, occurred_at=day_of),
        source=source, member_no=None, occurred_at=day_of,
    )
    envelope = dict(row["envelope"])
    data = dict(envelope.pop("data"))
    envelope.pop("member_no")
    data.pop("member_no")
    return LoginEvent(
        event_id=row["event_id"], topic=row["topic"], type=row["type"],
        envelope=json.dumps(envelope), data=json.dumps(data),
    )


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
    day: date,
    event: LoginEvent,
) -> tuple[int, bool] | None:
    """Record the login of a known, active member in one statement.

    Returns its member number and whether this was its first login of ``day``
    (the event was written), or None for the full path.
    """
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            _RETURNING_LOGIN, appid, openid, unionid, session_id, session_key_enc, token_hash, token_expires_at,
            day, event.event_id, event.topic, event.type, event.envelope, event.data,
        )
    return None if row is None else (int(row[0]), bool(row[1]))


async def move_login_day(session: AsyncSession, *, member_no: int, day: date) -> bool:
    """Set a member's last login day; True when it changed (the first login of ``day``)."""
    changed = await session.scalar(
        text(
            "UPDATE members SET last_login_day = :d WHERE member_no = :m "
            "AND last_login_day IS DISTINCT FROM :d RETURNING member_no"
        ),
        {"m": member_no, "d": day},
    )
    return changed is not None


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
