"""SQL of registrations, places and idempotency records."""

from __future__ import annotations

import asyncio
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
# the place, the registration, the channel touch and the outbox rows; for a
# paid period ($18 our out_trade_no, $19 its expiry) the registration awaits
# payment and its order is written too (the WeChat Pay call comes after the
# commit, outside any transaction, and a retry reuses this out_trade_no). The
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
        WHERE id = $1 AND (fee_fen = 0) = ($18::text IS NULL)
          AND (state = 'open' OR (state = 'running' AND late_join))
          AND registration_opens_at <= $3 AND $3 < registration_closes_at
          AND taken < capacity
          AND NOT EXISTS (SELECT 1 FROM blocked) AND NOT EXISTS (SELECT 1 FROM existing)
          AND NOT EXISTS (SELECT 1 FROM replay)
        RETURNING id, series_id, fee_fen, title
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
        SELECT place.id, $2, CASE WHEN place.fee_fen = 0 THEN 'confirmed' ELSE 'awaiting_payment' END,
               place.fee_fen, $5::text,
               coalesce((SELECT id FROM ch), (SELECT channel_id FROM member_channels WHERE member_no = $2)),
               $3, CASE WHEN place.fee_fen = 0 THEN $3 END
        FROM place
        RETURNING id, channel_id
    ), paid_order AS (
        INSERT INTO orders (registration_id, period_id, member_no, out_trade_no, amount_fen, state, expires_at)
        SELECT reg.id, $1, $2, $18::text, place.fee_fen, 'created', $19::timestamptz
        FROM reg, place WHERE $18::text IS NOT NULL
    ), events AS (
        INSERT INTO outbox (event_id, topic, key, type, envelope)
        SELECT event_id, topic, key, type, envelope FROM (
            SELECT 1 AS ord, $6::uuid AS event_id, $7::text AS topic, $8::text AS key, $9::text AS type,
                   jsonb_set(jsonb_set($10::jsonb, '{data,channel_id}', to_jsonb(ch.id)),
                             '{data,first_touch}', to_jsonb(EXISTS (SELECT 1 FROM claim))) AS envelope
            FROM ch
            UNION ALL
            SELECT 2, $11::uuid, $12::text, $8::text, $13::text,
                   jsonb_set(jsonb_set(jsonb_set($14::jsonb, '{data,registration_id}', to_jsonb(reg.id)),
                                       '{data,series_id}', to_jsonb(place.series_id)),
                             '{data,fee_fen}', to_jsonb(place.fee_fen))
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
           (SELECT title FROM place) AS title,
           p.state, p.late_join, p.registration_opens_at, p.registration_closes_at, p.taken, p.capacity,
           p.fee_fen, EXISTS (SELECT 1 FROM blocked) AS blocked, EXISTS (SELECT 1 FROM existing) AS existing,
           EXISTS (SELECT 1 FROM replay) AS replay
    FROM p
"""

_SET_PREPAY = "UPDATE orders SET prepay_id = $2 WHERE out_trade_no = $1 AND state = 'created'"
_AWAITING_ORDER = """
    SELECT r.id AS registration_id, r.channel_id, r.created_at, r.fee_fen, o.out_trade_no, o.amount_fen,
           o.state AS order_state, o.expires_at, o.prepay_id, p.title
    FROM registrations r
    JOIN orders o ON o.registration_id = r.id AND o.state = 'created'
    JOIN periods p ON p.id = r.period_id
    WHERE r.period_id = $1 AND r.member_no = $2 AND r.state = 'awaiting_payment' AND o.expires_at > $3
    ORDER BY o.id DESC LIMIT 1
"""

_PERIOD_STATE = "SELECT state, late_join, registration_opens_at, registration_closes_at FROM periods WHERE id = $1"


@dataclass(frozen=True)
class FreeRegistration:
    """What the one-statement registration did, or what it saw of the period when it did nothing."""

    registration_id: int | None
    channel_id: int | None
    # The period's title, when a place was taken (a paid order's description).
    title: str | None
    period: dict[str, Any]
    blocked: bool
    existing: bool
    # The Idempotency-Key was used before: the unit-of-work path replays (or refuses) it.
    replay: bool


def _free_registration(row: asyncpg.Record | None) -> FreeRegistration | None:
    if row is None:
        return None
    return FreeRegistration(
        registration_id=row["registration_id"],
        channel_id=row["channel_id"],
        title=row["title"],
        period=dict(row),
        blocked=row["blocked"],
        existing=row["existing"],
        replay=row["replay"],
    )


@dataclass
class _Pending:
    member_no: int
    args: tuple[Any, ...]
    notify: bool
    answer: asyncio.Future[asyncpg.Record | None]


class FreeRegistrationBatches:
    """Free registrations of this process, committed together per period.

    Every registration takes the period's row lock, and PostgreSQL holds it
    until the commit is on disk: one statement per transaction puts the
    members of a launch one WAL flush apart (a few milliseconds each here,
    whatever the CPU does). So the registrations for a period that arrive
    while one batch is being written wait and go together as the next batch:
    the same one-member statement for each, pipelined in one transaction
    (asyncpg's ``fetchmany``: one round trip, one commit). The capacity stays
    exact (each statement re-checks the place on the row it updated). Nothing
    waits for a timer: an idle period's first member goes alone at once.

    A member appears at most once per batch; if one statement fails (the same
    member registering through another replica at that moment, say) the batch
    rolls back as a whole and its members go again one by one, so only that
    member sees the failure.
    """

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 64) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._pending: dict[int, list[_Pending]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(
        self, period_id: int, member_no: int, args: tuple[Any, ...], *, notify: bool
    ) -> asyncpg.Record | None:
        """The statement's row for one member (None: no such period), once its batch committed.

        ``notify``: send the NOTIFY that wakes relays in other processes.
        """
        answer: asyncio.Future[asyncpg.Record | None] = asyncio.get_running_loop().create_future()
        queue = self._pending.get(period_id)
        self._pending.setdefault(period_id, []).append(_Pending(member_no, args, notify, answer))
        if queue is None:  # no batch of this period is being written: start one
            task = asyncio.create_task(self._drain(period_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer

    async def _drain(self, period_id: int) -> None:
        # The period's queue exists exactly while this task runs (no await between
        # the last check of the queue and its removal).
        while True:
            queue = self._pending[period_id]
            batch: list[_Pending] = []
            rest: list[_Pending] = []
            members: set[int] = set()
            for item in queue:
                if item.answer.done():  # its request is gone (client disconnected)
                    continue
                if item.member_no in members or len(batch) >= self._max_batch:
                    rest.append(item)
                else:
                    members.add(item.member_no)
                    batch.append(item)
            self._pending[period_id] = rest
            if batch:
                try:
                    await self._write(batch)
                except Exception as exc:  # every member of the batch learns it; none is left waiting
                    for item in batch:
                        if not item.answer.done():
                            item.answer.set_exception(exc)
            if not self._pending[period_id]:
                del self._pending[period_id]
                return

    async def _write(self, batch: list[_Pending]) -> None:
        async with self._pool.acquire() as conn:
            rows: list[asyncpg.Record | None] | None
            if len(batch) == 1:
                rows = None
            else:
                try:
                    found = await conn.fetchmany(_REGISTER_FREE, [item.args for item in batch])
                    rows = list(found) if found else [None] * len(batch)
                    assert len(rows) == len(batch), "one row per member, or none when the period is unknown"
                except asyncpg.PostgresError:
                    # One member's statement failed (registered through another replica at
                    # that moment; a deadlock with another period's batch over the same
                    # members' channel rows): the batch rolled back; each goes alone.
                    rows = None
            created = False
            if rows is not None:
                for item, row in zip(batch, rows, strict=True):
                    created = created or (item.notify and row is not None and row["registration_id"] is not None)
                    if not item.answer.done():
                        item.answer.set_result(row)
            else:
                for item in batch:
                    try:
                        row = await conn.fetchrow(_REGISTER_FREE, *item.args)
                    except asyncpg.PostgresError as exc:  # this member's alone
                        if not item.answer.done():
                            item.answer.set_exception(exc)
                        continue
                    created = created or (item.notify and row is not None and row["registration_id"] is not None)
                    if not item.answer.done():
                        item.answer.set_result(row)
            if created:
                # Wakes relays in other processes (this process's relay is woken by the caller).
                await conn.execute(notify_sql())


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
    batches: FreeRegistrationBatches | None = None,
    order: tuple[str, datetime] | None = None,
) -> FreeRegistration | None:
    """Register ``member_no`` for a free period in one statement (None: no such period).

    ``touched`` and ``created`` are the outbox rows of ``campaign.channel.touched``
    and ``campaign.registration.created`` (shared.events.outbox.outbox_row);
    the statement fills in the ids only it knows. ``idempotency`` is (key,
    request hash, the answer with the ids to fill in): the answer is remembered
    with the registration; a key seen before takes no place (``replay``).
    With ``batches`` the statement is committed with the period's other
    registrations of the moment (:class:`FreeRegistrationBatches`).
    ``order`` (out_trade_no, expiry): the period is paid; the registration
    awaits payment and the order is written with it (a free period then takes
    no place, nor does a paid one without ``order``).
    Raises asyncpg.UniqueViolationError when the member registered (or the same
    key was used) at the same moment.
    """
    touched = touched or created  # a placeholder: without a channel that row is never written
    args = (
        period_id, member_no, now, scene, channel,
        touched["event_id"], touched["topic"], created["key"], touched["type"],
        orjson.dumps(touched["envelope"]).decode(),
        created["event_id"], created["topic"], created["type"], orjson.dumps(created["envelope"]).decode(),
        idempotency[0] if idempotency else None, idempotency[1] if idempotency else None,
        orjson.dumps(idempotency[2]).decode() if idempotency else None,
        order[0] if order else None, order[1] if order else None,
    )
    if batches is not None:
        return _free_registration(await batches.run(period_id, member_no, args, notify=notify))
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_REGISTER_FREE, *args)
        if row is not None and row["registration_id"] is not None and notify:
            await conn.execute(notify_sql())
    return _free_registration(row)


async def period_state(pool: asyncpg.Pool, period_id: int) -> dict[str, Any] | None:
    """A period's state and registration window, read again after a lost race."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_PERIOD_STATE, period_id)
    return dict(row) if row is not None else None


async def set_prepay(pool: asyncpg.Pool, out_trade_no: str, prepay_id: str) -> None:
    """Remember the prepay_id WeChat Pay gave an order (the same on every retry)."""
    async with pool.acquire() as conn:
        await conn.execute(_SET_PREPAY, out_trade_no, prepay_id)


async def awaiting_order(
    pool: asyncpg.Pool, period_id: int, member_no: int, now: datetime
) -> dict[str, Any] | None:
    """The member's registration for a period that awaits payment, with its live order."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_AWAITING_ORDER, period_id, member_no, now)
    return dict(row) if row is not None else None
