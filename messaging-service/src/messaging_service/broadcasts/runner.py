"""Running broadcasts: a lease per broadcast, recipients claimed in batches, sends paced at the rate.

Crash safety: a recipient's message is created in the same transaction that
claims the recipient, so a restart never creates a second message for anyone;
a message created but never routed is still ``queued`` and is routed on resume;
one caught mid-call is settled as ``unknown`` (never resent). The lease runs
out 30 s after its runner dies, and the next scheduler pass resumes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from sqlalchemy import text

from messaging_service import catalog
from messaging_service.broadcasts.pacing import TokenBucket
from messaging_service.clock.service import Clock
from messaging_service.messages.dispatch import Dispatcher
from messaging_service.messages.fast import FastPath, wake
from messaging_service.messages.models import Message
from shared.contracts.messaging import MessageRequested
from shared.db import unit_of_work
from shared.events.outbox import emit, outbox_row
from shared.runtime import ServiceRuntime

log = structlog.get_logger("messaging.broadcasts")
LEASE = "30 seconds"
# Sends under way at once: a second's worth at the broadcast's rate, at least 128. A send that takes longer than
# in-flight / rate (routing statement, WeChat call, recorded answer) holds the rate back; at 128 that was 256 ms at
# 500/s, which a checkpoint's slower commits or a loaded core exceeded for seconds at a time.
MIN_IN_FLIGHT = 128
IN_FLIGHT_SECONDS = 1.0
# Batches claimed ahead of the one being sent (one claim at a time, in order): a claim may take that many batches'
# time (a second each at the rate) before the sends wait for it. Under load a claim of 500 took 0.5-1.1 s.
CLAIMS_AHEAD = 2
# Sends that waited this long for a claim are logged: the claims fell behind the rate.
SLOW_CLAIM_SECONDS = 0.5


def in_flight_limit(rate: float) -> int:
    """How many sends may be under way at once at ``rate``."""
    return max(MIN_IN_FLIGHT, int(rate * IN_FLIGHT_SECONDS))


async def run_broadcasts(runtime: ServiceRuntime) -> None:
    """Start due broadcasts and make sure each running one has a runner in some process."""
    clock: Clock = runtime.extras["clock"]
    tasks: dict[int, asyncio.Task[Any]] = runtime.extras.setdefault("broadcast_tasks", {})
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(
            text("""UPDATE broadcasts SET state = 'running', started_at = :now
                    WHERE state = 'scheduled' AND send_at <= :now"""),
            {"now": clock.now()},
        )
        rows = await session.execute(
            text("""SELECT id FROM broadcasts WHERE state = 'running'
                    AND (lease_until IS NULL OR lease_until < now()) ORDER BY id"""),
        )
        ids = [int(r[0]) for r in rows]
    for broadcast_id in ids:
        task = tasks.get(broadcast_id)
        if task is None or task.done():
            tasks[broadcast_id] = asyncio.create_task(run_one(runtime, broadcast_id))


async def _lease(runtime: ServiceRuntime, broadcast_id: int, *, first: bool) -> float | None:
    """Take (first) or renew the lease; the rate, or None when paused, cancelled or held elsewhere."""
    condition = "AND (lease_until IS NULL OR lease_until < now())" if first else ""
    async with unit_of_work(runtime.session_factory) as session:
        row = (await session.execute(
            text(f"""UPDATE broadcasts SET lease_until = now() + interval '{LEASE}'
                     WHERE id = :b AND state = 'running' {condition} RETURNING rate_per_second"""),  # noqa: S608
            {"b": broadcast_id},
        )).first()
    return float(row[0]) if row else None


CLAIM_SQL = """
WITH c AS (
  SELECT seq FROM broadcast_recipients WHERE broadcast_id = $1 AND message_id IS NULL
  ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED
), r AS (
  -- The claimed seqs as one array (an init plan): each recipient is found by its primary key, whatever the
  -- statistics say. A join with the new messages was planned from statistics taken before this broadcast's
  -- snapshot existed (one row expected) and scanned the whole snapshot per claimed row: 5 s per claim of 500
  -- until autovacuum analysed the table, so a new broadcast ran at one claim per 5 s for its first 30-60 s.
  UPDATE broadcast_recipients br SET message_id = nextval('messages_id_seq')
  WHERE br.broadcast_id = $1 AND br.seq = ANY (ARRAY(SELECT seq FROM c)) AND br.message_id IS NULL
  RETURNING br.seq, br.member_no, br.message_id
), m AS (
  INSERT INTO messages (id, member_no, purpose, message_class, data, status, source, idempotency_key, broadcast_id,
                        requested_at, reasons, next_channel, quiet_deferred, updated_at)
  SELECT r.message_id, r.member_no, $3, $4, $5::jsonb, 'queued', 'broadcast', 'b' || $1 || ':' || r.seq, $1, $6,
         '[]'::jsonb, 0, false, $6
  FROM r
)
SELECT message_id, member_no FROM r ORDER BY seq
"""
OUTBOX_SQL = """INSERT INTO outbox (event_id, topic, key, type, envelope)
                SELECT (e->>'event_id')::uuid, e->>'topic', e->>'key', e->>'type', e->'envelope'
                FROM unnest($1::jsonb[]) AS e"""


async def _claim_on_pool(runtime: ServiceRuntime, broadcast_id: int, size: int) -> list[tuple[int, int]]:
    """:func:`_claim` in one transaction of three statements on the driver pool (no ORM objects)."""
    clock: Clock = runtime.extras["clock"]
    pool = runtime.driver_pool
    assert pool is not None
    async with pool.acquire() as conn, conn.transaction():
        head = await conn.fetchrow(
            """SELECT b.purpose, b.data::text, p.message_class FROM broadcasts b
               LEFT JOIN purposes p ON p.name = b.purpose WHERE b.id = $1""", broadcast_id)
        assert head is not None
        klass = head[2] or "marketing"
        rows = await conn.fetch(CLAIM_SQL, broadcast_id, size, head[0], klass, head[1], clock.now())
        events = [
            orjson.dumps(outbox_row(
                MessageRequested(member_no=member_no, message_id=message_id, purpose=head[0],
                                 message_class=klass, broadcast_id=broadcast_id),
                source=runtime.settings.service_name, member_no=member_no)).decode()
            for message_id, member_no in rows
        ]
        if events:
            await conn.execute(OUTBOX_SQL, events)
    if events:
        await wake(runtime)
    return [(int(a), int(b)) for a, b in rows]


async def _claim(runtime: ServiceRuntime, broadcast_id: int, size: int) -> list[tuple[int, int]]:
    """Create the next recipients' messages (one transaction with the claim); (message id, member) each."""
    if runtime.driver_pool is not None:
        return await _claim_on_pool(runtime, broadcast_id, size)
    clock: Clock = runtime.extras["clock"]
    async with unit_of_work(runtime.session_factory) as session:
        head = (await session.execute(
            text("SELECT purpose, data FROM broadcasts WHERE id = :b"), {"b": broadcast_id}
        )).one()
        purpose = await session.scalar(text("SELECT message_class FROM purposes WHERE name = :n"), {"n": head[0]})
        rows = (await session.execute(
            text("""SELECT seq, member_no FROM broadcast_recipients WHERE broadcast_id = :b AND message_id IS NULL
                    ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED"""),
            {"b": broadcast_id, "n": size},
        )).all()
        if not rows:
            return []
        now = clock.now()
        messages = [
            Message(member_no=member_no, purpose=head[0], message_class=purpose or "marketing", data=head[1],
                    status="queued", source="broadcast", idempotency_key=f"b{broadcast_id}:{seq}",
                    broadcast_id=broadcast_id, requested_at=now, reasons=[])
            for seq, member_no in rows
        ]
        session.add_all(messages)
        await session.flush()
        await session.execute(
            # By primary key with an array, never a join the planner could get wrong (see CLAIM_SQL).
            text("""UPDATE broadcast_recipients r
                    SET message_id = (CAST(:ids AS bigint[]))[array_position(CAST(:seqs AS int[]), r.seq)]
                    WHERE r.broadcast_id = :b AND r.seq = ANY (CAST(:seqs AS int[]))"""),
            {"b": broadcast_id, "seqs": [r[0] for r in rows], "ids": [m.id for m in messages]},
        )
        for m in messages:
            await emit(session, MessageRequested(member_no=m.member_no, message_id=m.id, purpose=m.purpose,
                                           message_class=m.message_class,
                                           broadcast_id=broadcast_id), member_no=m.member_no)
        return [(m.id, m.member_no) for m in messages]


async def _leftovers(runtime: ServiceRuntime, broadcast_id: int) -> list[tuple[int, int]]:
    """Messages created before a crash and never routed."""
    async with runtime.session_factory() as session:
        rows = await session.execute(
            text("""SELECT m.id, m.member_no FROM broadcast_recipients r JOIN messages m ON m.id = r.message_id
                    WHERE r.broadcast_id = :b AND m.status = 'queued' ORDER BY r.seq"""),
            {"b": broadcast_id},
        )
        return [(int(r[0]), int(r[1])) for r in rows]


async def _fast_route(runtime: ServiceRuntime, broadcast_id: int) -> Callable[[int, int], Awaitable[bool]] | None:
    """The driver-pool route of this broadcast's messages (one purpose, one data: rendered once), if any."""
    fast: FastPath | None = runtime.extras.get("fast")
    if fast is None:
        return None
    async with runtime.session_factory() as session:
        head = (await session.execute(
            text("SELECT purpose, data FROM broadcasts WHERE id = :b"), {"b": broadcast_id})).first()
        purpose = await catalog.purpose(session, head[0]) if head is not None else None
    if head is None or purpose is None:
        return None
    channels = await fast.channels(purpose, dict(head[1]))
    if not all(channels.usable):
        return None

    async def route(message_id: int, member_no: int) -> bool:
        return await fast.route_existing(message_id, member_no, purpose, channels)

    return route


async def _finish(runtime: ServiceRuntime, broadcast_id: int) -> None:
    clock: Clock = runtime.extras["clock"]
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(
            text("""UPDATE broadcasts SET state = 'finished', finished_at = :now, lease_until = NULL
                    WHERE id = :b AND state = 'running'"""),
            {"b": broadcast_id, "now": clock.now()},
        )


async def run_one(runtime: ServiceRuntime, broadcast_id: int) -> None:
    """Send a broadcast until it is done, paused or cancelled.

    Pacing: a token bucket on the monotonic clock starts each send, with up
    to :func:`in_flight_limit` sends under way (a send's latency never slows
    the rate as long as rate × latency stays below that); the next
    ``CLAIMS_AHEAD`` batches are claimed, one after the other, while the
    current one is being sent.
    """
    dispatcher: Dispatcher = runtime.extras["dispatcher"]
    rate = await _lease(runtime, broadcast_id, first=True)
    if rate is None:
        return
    # Sized from the rate at the start (a rate changed later keeps it).
    gate = asyncio.Semaphore(in_flight_limit(rate))
    in_flight: set[asyncio.Task[None]] = set()
    bucket = TokenBucket(rate)
    fast_route = await _fast_route(runtime, broadcast_id)

    async def send(message_id: int, member_no: int) -> None:
        try:
            if fast_route is None or not await fast_route(message_id, member_no):
                await dispatcher.dispatch(message_id)
        except Exception as exc:  # the scheduler retries queued messages later
            log.warning("broadcast_send_failed", message_id=message_id, error=repr(exc))
        finally:
            gate.release()

    def claim_size() -> int:
        return max(1, min(int(bucket.rate), 1000))

    async def claim_after(previous: asyncio.Task[list[tuple[int, int]]] | None) -> list[tuple[int, int]]:
        # Claims run one after the other, in seq order; none after one that found nobody left.
        if previous is not None and not await previous:
            return []
        return await _claim(runtime, broadcast_id, claim_size())

    def claim_next() -> None:
        upcoming.append(asyncio.create_task(claim_after(upcoming[-1] if upcoming else None)))

    upcoming: deque[asyncio.Task[list[tuple[int, int]]]] = deque()
    try:
        batch = await _leftovers(runtime, broadcast_id)
        stopped = False
        for _ in range(CLAIMS_AHEAD):
            claim_next()
        while True:
            if not batch:
                waited = time.monotonic()
                batch = await upcoming.popleft()
                claim_next()
                waited = time.monotonic() - waited
                if waited > SLOW_CLAIM_SECONDS:
                    log.warning("broadcast_waited_for_claim", broadcast_id=broadcast_id, seconds=round(waited, 2))
            if not batch:
                break
            for message_id, member_no in batch:
                await bucket.take()
                await gate.acquire()
                task = asyncio.create_task(send(message_id, member_no))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            batch = []
            renewed = await _lease(runtime, broadcast_id, first=False)
            if renewed is None:
                stopped = True
                break
            if renewed != rate:
                rate = renewed
                bucket.set_rate(rate)
        if in_flight:
            await asyncio.gather(*in_flight)
        # Claimed but not started (paused or cancelled meanwhile): queued, routed on resume.
        await asyncio.gather(*upcoming, return_exceptions=True)
        upcoming.clear()
        if not stopped and not await _leftovers(runtime, broadcast_id):
            await _finish(runtime, broadcast_id)
    finally:
        # A failed claim (the database gone) stops the runner; claims after it end with it.
        await asyncio.gather(*upcoming, return_exceptions=True)
        async with unit_of_work(runtime.session_factory) as session:
            await session.execute(text("UPDATE broadcasts SET lease_until = NULL WHERE id = :b"), {"b": broadcast_id})
