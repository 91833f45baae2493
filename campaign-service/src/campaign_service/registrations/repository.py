"""SQL of registrations, places and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.periods.models import Period
from campaign_service.registrations.models import ACTIVE_STATES, IdempotencyRecord, Registration
from shared.events.outbox import notify_sql


async def take_place(session: AsyncSession, period_id: int) -> bool:
    """Take one place if any is left, atomically (the row lock serialises concurrent takers)."""
    taken = await session.scalar(
        update(Period)
        .where(
            Period.id == period_id,
            or_(Period.state == "open", and_(Period.state == "running", Period.late_join)),
            Period.taken < Period.capacity,
        )
        .values(taken=Period.taken + 1)
        .returning(Period.taken)
    )
    return taken is not None


async def retake_place(session: AsyncSession, period_id: int) -> bool:
    """Take a place back for a late payment (any state before closing)."""
    taken = await session.scalar(
        update(Period)
        .where(Period.id == period_id, Period.state.in_(("open", "running")), Period.taken < Period.capacity)
        .values(taken=Period.taken + 1)
        .returning(Period.taken)
    )
    return taken is not None


async def release_place(session: AsyncSession, period_id: int) -> None:
    """Give a held place back."""
    await session.execute(
        update(Period).where(Period.id == period_id, Period.taken > 0).values(taken=Period.taken - 1)
    )


async def active_registration(session: AsyncSession, period_id: int, member_no: int) -> Registration | None:
    """The member's live registration for a period."""
    return await session.scalar(
        select(Registration).where(
            Registration.period_id == period_id,
            Registration.member_no == member_no,
            Registration.state.in_(ACTIVE_STATES),
        )
    )


async def get_registration(
    session: AsyncSession, registration_id: int, *, lock: bool = False
) -> Registration | None:
    """One registration."""
    stmt = select(Registration).where(Registration.id == registration_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def registrations_of_member(session: AsyncSession, member_no: int) -> list[Registration]:
    """A member's registrations, newest first."""
    return list(
        await session.scalars(
            select(Registration)
            .where(Registration.member_no == member_no)
            .order_by(Registration.id.desc())
            .limit(200)
        )
    )


async def confirmed_of_period(session: AsyncSession, period_id: int) -> list[Registration]:
    """Confirmed registrations of a period."""
    return list(
        await session.scalars(
            select(Registration)
            .where(Registration.period_id == period_id, Registration.state == "confirmed")
            .order_by(Registration.id)
        )
    )


async def claim_idempotency(
    session: AsyncSession, *, member_no: int, scope: str, key: str, request_hash: str
) -> IdempotencyRecord | None:
    """Claim a key; returns None when claimed now, else the earlier record.

    A concurrent request with the same key waits on the unique index until
    the first one commits (then sees its record) or rolls back (then claims).
    """
    claimed = await session.scalar(
        insert(IdempotencyRecord)
        .values(member_no=member_no, scope=scope, key=key, request_hash=request_hash)
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if claimed is not None:
        return None
    return await session.get(IdempotencyRecord, (member_no, scope, key), populate_existing=True)


async def store_idempotent_response(
    session: AsyncSession, *, member_no: int, scope: str, key: str, status_code: int, response: dict
) -> None:
    """Remember the response of a claimed key."""
    await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.member_no == member_no,
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
        )
        .values(status_code=status_code, response=response)
    )


async def is_active(session: AsyncSession, registration_id: int) -> bool:
    """Whether a registration still holds its place (awaiting payment or confirmed)."""
    registration = await session.get(Registration, registration_id)
    return registration is not None and registration.state in ACTIVE_STATES


async def active_ids_of_period(session: AsyncSession, period_id: int) -> list[int]:
    """Registrations of a period that still hold a place (awaiting payment or confirmed)."""
    return list(
        await session.scalars(
            select(Registration.id)
            .where(Registration.period_id == period_id, Registration.state.in_(ACTIVE_STATES))
            .order_by(Registration.id)
        )
    )


# asyncpg placeholders: this statement runs on the driver pool (shared.db).
# One autocommit statement registers a member for a free period: the checks,
# the place, the registration, the channel touch and the outbox rows. The
# period's row lock is held only while PostgreSQL runs it (the ORM path holds
# it across several round trips and the event loop's turns between them).
# Every sub-statement sees the same snapshot; the UPDATE re-checks the place
# on the newest row version (READ COMMITTED), so concurrent takers never pass
# the capacity. A concurrent second registration of the same member fails on
# uq_registrations_active, and the whole statement (its place too) rolls back.
_REGISTER_FREE = """
    WITH p AS (
        SELECT series_id, state, late_join, registration_opens_at, registration_closes_at, taken, capacity, fee_fen
        FROM periods WHERE id = $1
    ), blocked AS (
        SELECT 1 FROM blocked_members WHERE member_no = $2
    ), existing AS (
        SELECT 1 FROM registrations
        WHERE period_id = $1 AND member_no = $2 AND state IN ('awaiting_payment', 'confirmed')
    ), replay AS (
        SELECT 1 FROM idempotency_records WHERE $15::text IS NOT NULL AND member_no = $2 AND scope = 'register'
          AND key = $15::text
    ), place AS (
        UPDATE periods SET taken = taken + 1
        WHERE id = $1 AND fee_fen = 0
          AND (state = 'open' OR (state = 'running' AND late_join))
          AND registration_opens_at <= $3 AND $3 < registration_closes_at
          AND taken < capacity
          AND NOT EXISTS (SELECT 1 FROM blocked) AND NOT EXISTS (SELECT 1 FROM existing)
          AND NOT EXISTS (SELECT 1 FROM replay)
        RETURNING id, series_id
    ), ch AS (
        SELECT c.id FROM channels c, place WHERE $4::text IS NOT NULL AND c.code = $4::text
    ), claim AS (
        INSERT INTO member_channels (member_no, channel_id, scene, source, touched_at)
        SELECT $2, id, $4::text, 'mp', $3 FROM ch
        ON CONFLICT DO NOTHING
        RETURNING member_no
    ), launch AS (
        INSERT INTO channel_touches (channel_id, kind, member_no, at)
        SELECT id, 'launch', $2, $3 FROM ch
    ), reg AS (
        INSERT INTO registrations (period_id, member_no, state, fee_fen, channel, channel_id, created_at, confirmed_at)
        SELECT place.id, $2, 'confirmed', 0, $5::text,
               coalesce((SELECT id FROM ch), (SELECT channel_id FROM member_channels WHERE member_no = $2)),
               $3, $3
        FROM place
        RETURNING id, channel_id
    ), events AS (
        INSERT INTO outbox (event_id, topic, key, type, envelope)
        SELECT event_id, topic, key, type, envelope FROM (
            SELECT 1 AS ord, $6::uuid AS event_id, $7::text AS topic, $8::text AS key, $9::text AS type,
                   jsonb_set(jsonb_set($10::jsonb, '{data,channel_id}', to_jsonb(ch.id)),
                             '{data,first_touch}', to_jsonb(EXISTS (SELECT 1 FROM claim))) AS envelope
            FROM ch
            UNION ALL
            SELECT 2, $11::uuid, $12::text, $8::text, $13::text,
                   jsonb_set(jsonb_set($14::jsonb, '{data,registration_id}', to_jsonb(reg.id)),
                             '{data,series_id}', to_jsonb(place.series_id))
            FROM reg, place
        ) rows
        ORDER BY ord
        RETURNING 1
    ), remember AS (
        INSERT INTO idempotency_records (member_no, scope, key, request_hash, status_code, response)
        SELECT $2, 'register', $15::text, $16::text, 201,
               jsonb_set(jsonb_set($17::jsonb, '{id}', to_jsonb(reg.id)),
                         '{channel_id}', coalesce(to_jsonb(reg.channel_id), 'null'::jsonb))
        FROM reg WHERE $15::text IS NOT NULL
    )
    SELECT (SELECT id FROM reg) AS registration_id, (SELECT channel_id FROM reg) AS channel_id,
           p.state, p.late_join, p.registration_opens_at, p.registration_closes_at, p.taken, p.capacity,
           p.fee_fen, EXISTS (SELECT 1 FROM blocked) AS blocked, EXISTS (SELECT 1 FROM existing) AS existing,
           EXISTS (SELECT 1 FROM replay) AS replay
    FROM p
"""

_PERIOD_STATE = "SELECT state, late_join, registration_opens_at, registration_closes_at FROM periods WHERE id = $1"


@dataclass(frozen=True)
class FreeRegistration:
    """What the one-statement registration did, or what it saw of the period when it did nothing."""

    registration_id: int | None
    channel_id: int | None
    period: dict[str, Any]
    blocked: bool
    existing: bool
    # The Idempotency-Key was used before: the unit-of-work path replays (or refuses) it.
    replay: bool


async def register_free(
    pool: asyncpg.Pool,
    *,
    period_id: int,
    member_no: int,
    now: datetime,
    scene: str | None,
    channel: str | None,
    touched: dict[str, Any] | None,
    created: dict[str, Any],
    notify: bool,
    idempotency: tuple[str, str, dict[str, Any]] | None = None,
) -> FreeRegistration | None:
    """Register ``member_no`` for a free period in one statement (None: no such period).

    ``touched`` and ``created`` are the outbox rows of ``campaign.channel.touched``
    and ``campaign.registration.created`` (shared.events.outbox.outbox_row);
    the statement fills in the ids only it knows. ``idempotency`` is (key,
    request hash, the answer with the ids to fill in): the answer is remembered
    with the registration; a key seen before takes no place (``replay``).
    Raises asyncpg.UniqueViolationError when the member registered (or the same
    key was used) at the same moment.
    """
    touched = touched or created  # a placeholder: without a channel that row is never written
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            _REGISTER_FREE, period_id, member_no, now, scene, channel,
            touched["event_id"], touched["topic"], created["key"], touched["type"],
            orjson.dumps(touched["envelope"]).decode(),
            created["event_id"], created["topic"], created["type"], orjson.dumps(created["envelope"]).decode(),
            idempotency[0] if idempotency else None, idempotency[1] if idempotency else None,
            orjson.dumps(idempotency[2]).decode() if idempotency else None,
        )
        if row is not None and row["registration_id"] is not None and notify:
            await conn.execute(notify_sql())
    if row is None:
        return None
    return FreeRegistration(
        registration_id=row["registration_id"],
        channel_id=row["channel_id"],
        period=dict(row),
        blocked=row["blocked"],
        existing=row["existing"],
        replay=row["replay"],
    )


async def period_state(pool: asyncpg.Pool, period_id: int) -> dict[str, Any] | None:
    """A period's state and registration window, read again after a lost race."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_PERIOD_STATE, period_id)
    return dict(row) if row is not None else None
