"""The send hot path on the plain asyncpg pool: one batched statement routes, one batched statement records.

The rules are those of :mod:`messaging_service.messages.dispatch` (the ORM
path); here they cost two round trips per batch of sends instead of about
fifteen per send:

1. ``messaging_send_many`` (new sends, batched by :mod:`.routing`) /
   ``messaging_route`` (a broadcast's queued message), PL/pgSQL: the message
   row, the marketing gate, each channel judged and the first usable one
   reserved (conditional UPDATEs, so the ledger stays exact under any
   concurrency), or ``undeliverable`` with its event, in one statement that is
   its own transaction. A new send routed at once writes no ``requested``: its
   outcome event (with ``message_class``) stands for the request.
2. The WeChat call (the dispatcher's, with its retries and unknown outcomes).
3. A plain success is recorded by :class:`Recorder`, many sends in one
   statement (the row, its attempt, the early delivery report, the ``sent``
   event); the send's answer waits for that commit.

Whatever is out of the ordinary (an idempotent retry, a held or quiet-hours
message, a refusal to fall back from, a retried or failed call) goes the ORM
way, which handles every case; so does everything when the service has no
driver pool.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import structlog

from messaging_service import catalog
from messaging_service.catalog import PurposeSnapshot
from messaging_service.messages.batching import Batches
from messaging_service.messages.dispatch import Dispatcher, Outcome, Plan, build_body
from messaging_service.messages.event_rows import sent_row, undeliverable_row
from messaging_service.messages.models import Message
from messaging_service.messages.policy import local_date, quiet_until
from messaging_service.messages.routing import ChannelPlan, Routed, SendRequest, SendRouter
from messaging_service.messages.service import request_hash
from messaging_service.purposes import service as purposes
from shared.db import unit_of_work
from shared.events.outbox import notify_sql
from shared.runtime import ServiceRuntime

log = structlog.get_logger("messaging.fast")

ROUTE_SQL = "SELECT * FROM messaging_route($1, $2, $3, $4, $5, $6, $7, $8::jsonb)"

# Many sends recorded in one statement: the row, its attempt, the early delivery report and the event.
RECORD_SQL = """
WITH v AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
    AS v(id, channel, template_id, msgid, client_msg_id, event)
), r AS (
  INSERT INTO delivery_reports (wechat_msgid, status, at)
  SELECT msgid, '', $7 FROM v WHERE msgid IS NOT NULL
  ON CONFLICT (wechat_msgid) DO UPDATE SET status = delivery_reports.status
  RETURNING wechat_msgid, status, at
), u AS (
  UPDATE messages m SET
    status = CASE WHEN COALESCE(r.status, '') = '' THEN 'sent' WHEN r.status = 'success' THEN 'delivered'
                  ELSE 'failed' END,
    sent_at = $7, reason = NULL, wechat_msgid = v.msgid, client_msg_id = v.client_msg_id,
    delivery_status = NULLIF(r.status, ''), delivered_at = CASE WHEN COALESCE(r.status, '') <> '' THEN r.at END,
    updated_at = $7
  FROM v LEFT JOIN r ON r.wechat_msgid = v.msgid
  WHERE m.id = v.id AND m.status = 'sending'
  RETURNING m.id, m.status, m.delivery_status, m.delivered_at, m.sent_at
), a AS (
  INSERT INTO message_attempts (message_id, channel, template_id, outcome, errcode, at)
  SELECT v.id, v.channel, v.template_id, 'sent', 0, $7 FROM v JOIN u ON u.id = v.id
), o AS (
  INSERT INTO outbox (event_id, topic, key, type, envelope)
  SELECT (event->>'event_id')::uuid, event->>'topic', event->>'key', event->>'type', event->'envelope'
  FROM v JOIN u ON u.id = v.id
)
SELECT id, status, delivery_status, delivered_at, sent_at FROM u
"""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(slots=True)
class Finished:
    """Where a message ended: the fields the answer needs, or the ORM row when the ORM path recorded it."""

    status: str
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    delivery_status: str | None = None
    message: Message | None = None


@dataclass(frozen=True, slots=True)
class Channels:
    """A purpose's channels for some data: what the routing statement judges, and the rendered fields."""

    kinds: list[str]
    template_ids: list[str | None]
    usable: list[bool]
    configs: list[dict[str, Any]]
    rendered: list[dict[str, Any]]

    @property
    def plan(self) -> ChannelPlan:
        """What the routing statement judges (sends of one purpose and data share it in a batch)."""
        return ChannelPlan(tuple(self.kinds), tuple(self.template_ids), tuple(self.usable))


@dataclass(slots=True)
class _Record:
    plan: Plan
    outcome: Outcome
    event: dict[str, Any]


class Recorder(Batches[_Record, Finished]):
    """Writes successful sends in batches (:class:`Batches`): the row, its attempt, the early report, the event."""

    name = "recorder"

    def __init__(self, runtime: ServiceRuntime, *, writers: int = 2, max_batch: int = 500) -> None:
        super().__init__(writers=writers, max_batch=max_batch)
        self.runtime = runtime

    async def record(self, plan: Plan, outcome: Outcome, event: dict[str, Any]) -> Finished:
        """Record one success; where the message ended, once committed."""
        return await self.submit(_Record(plan, outcome, event))

    async def write(self, batch: list[_Record]) -> list[Finished | BaseException]:
        """The batch in one statement (a message no longer ``sending`` is left as it is)."""
        pool = self.runtime.driver_pool
        assert pool is not None
        now = self.runtime.extras["clock"].now()
        rows = await pool.fetch(
            RECORD_SQL,
            [p.plan.message_id for p in batch], [p.plan.channel for p in batch],
            [p.plan.template_id for p in batch], [p.outcome.msgid for p in batch],
            [p.plan.body.get("client_msg_id") if p.plan.channel == "template" else None for p in batch],
            [_json(p.event) for p in batch], now,
        )
        await wake(self.runtime)
        found = {int(r[0]): Finished(str(r[1]), sent_at=r[4], delivered_at=r[3], delivery_status=r[2]) for r in rows}
        return [found.get(p.plan.message_id) or LookupError("message no longer sending") for p in batch]


async def wake(runtime: ServiceRuntime) -> None:
    """New outbox rows: wake this process's relay, or (a separate worker runs it) send it a NOTIFY."""
    if runtime.relay is not None:
        runtime.relay.wake()
    elif runtime.driver_pool is not None:
        await runtime.driver_pool.execute(notify_sql())


class FastPath:
    """Sends on the driver pool; ``None`` from a method means: take the ORM path."""

    def __init__(self, runtime: ServiceRuntime, dispatcher: Dispatcher) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher
        self.settings = dispatcher.settings
        self.router = SendRouter(runtime)
        self.recorder = Recorder(runtime)
        # The catalog's cache is keyed by database name (as catalog._db computes it from a session).
        self.db = str(runtime.engine.url.database)
        # How sends went: routed here, recorded in a batch, or handed to the ORM path (tests read it).
        self.counts: Counter[str] = Counter()
        self._refreshing: dict[tuple[str, ...], asyncio.Lock] = {}

    async def stop(self) -> None:
        """Stop the batch writers (sends waiting on them take the ORM path)."""
        await self.router.stop()
        await self.recorder.stop()

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self.runtime.driver_pool

    async def purpose(self, name: str) -> PurposeSnapshot | None:
        """The purpose from the catalog's cache (a session and a query only on a miss)."""
        hit, found = catalog.peek_purpose(self.db, name)
        if hit:
            return found
        # One refresh per name at a time: when the entry expires, every send under way would miss at once.
        async with self._refreshing.setdefault(("purpose", name), asyncio.Lock()):
            hit, found = catalog.peek_purpose(self.db, name)
            if hit:
                return found
            async with self.runtime.session_factory() as session:
                return await catalog.purpose(session, name)

    async def _template(self, app: str, template_id: str) -> Any:
        hit, found = catalog.peek_template(self.db, app, template_id)
        if hit:
            return found
        async with self._refreshing.setdefault(("template", app, template_id), asyncio.Lock()):
            hit, found = catalog.peek_template(self.db, app, template_id)
            if hit:
                return found
            async with self.runtime.session_factory() as session:
                return await catalog.template(session, app, template_id)

    async def channels(self, purpose: PurposeSnapshot, data: dict[str, Any]) -> Channels:
        """Each channel of the purpose rendered with ``data`` (templates from the catalog's cache)."""
        kinds, ids, usable, configs, rendered = [], [], [], [], []
        for config in purpose.channels:
            channel = config["channel"]
            template = None
            ok = True
            if channel != "custom":
                template = await self._template(purposes.APP_OF[channel], config["template_id"])
                ok = template is not None and not template.removed
            fields: dict[str, Any] = {}
            if ok:
                fields, errors = purposes.render_channel(config, template, data)
                ok = not errors
            kinds.append(channel)
            ids.append(config.get("template_id"))
            usable.append(ok)
            configs.append(config)
            rendered.append(fields)
        return Channels(kinds, ids, usable, configs, rendered)

    def gate(self, purpose: PurposeSnapshot, now: datetime) -> tuple[Any, int | None] | None:
        """(cap day, cap) for the routing statement; None when quiet hours hold the message (ORM path)."""
        s = self.settings
        if purpose.message_class != "marketing":
            return None, None
        if quiet_until(now, zone=s.timezone, start=s.quiet_start, end=s.quiet_end) is not None:
            return None
        cap = purpose.daily_cap if purpose.daily_cap is not None else s.daily_marketing_cap
        return local_date(now, s.timezone), cap

    def _undeliverable_event(self, member_no: int, purpose: PurposeSnapshot) -> dict[str, Any]:
        # message_id, reason and reasons are set by the statement.
        return undeliverable_row(source=self.settings.service_name, member_no=member_no, purpose=purpose.name,
                                 message_class=purpose.message_class)

    async def send_new(
        self, *, member_no: int, purpose_name: str, data: dict[str, Any], source: str, key: str, now: datetime,
        purpose: PurposeSnapshot, plan_of: Channels,
    ) -> tuple[Routed, Finished] | None:
        """Record, route, send and record a new message; None when the ORM path must answer."""
        pool = self.pool
        gate = self.gate(purpose, now)
        if pool is None or gate is None:
            return None
        digest = request_hash({"member_no": member_no, "purpose": purpose_name, "data": data, "send_at": None})
        # No ``requested`` event: routed in the moment it is requested, the send's outcome event stands for it
        # (one event per send instead of two for the relay, the broker and every consumer of the topic).
        routed = await self.router.route(SendRequest(
            source=source, key=key, digest=digest, member_no=member_no, purpose=purpose.name,
            message_class=purpose.message_class, data=_json(data), now=now, requested=None,
            cap_day=gate[0], cap=gate[1], plan=plan_of.plan,
            undeliverable=_json(self._undeliverable_event(member_no, purpose)),
        ))
        if routed is None:  # the key was recorded before: the ORM path answers the idempotent repeat
            self.counts["orm"] += 1
            return None
        self.counts["routed"] += 1
        if routed.status == "undeliverable":  # its event is the only outbox row routing writes
            await wake(self.runtime)
        return routed, await self._finish(routed, member_no, purpose, plan_of)

    async def route_existing(self, message_id: int, member_no: int, purpose: PurposeSnapshot, plan_of: Channels
                             ) -> bool:
        """Route, send and record a queued message (a broadcast's); False when the ORM path must."""
        pool = self.pool
        now = self.dispatcher.clock.now()
        gate = self.gate(purpose, now)
        if pool is None or gate is None:
            return False
        row = await pool.fetchrow(
            ROUTE_SQL, message_id, now, gate[0], gate[1], plan_of.kinds, plan_of.template_ids, plan_of.usable,
            _json(self._undeliverable_event(member_no, purpose)),
        )
        assert row is not None
        if row[0] == "slow":
            self.counts["orm"] += 1
            return False
        self.counts["routed"] += 1
        routed = Routed(message_id, str(row[0]), row[1], row[2], row[3], row[4],
                        orjson.loads(row[5]) if isinstance(row[5], str) else list(row[5] or []))
        if routed.status == "undeliverable":  # its event is the only outbox row routing writes
            await wake(self.runtime)
        await self._finish(routed, member_no, purpose, plan_of)
        return True

    async def _finish(self, routed: Routed, member_no: int, snapshot: PurposeSnapshot, plan_of: Channels
                      ) -> Finished:
        """Call WeChat for a reserved channel and record the answer."""
        if routed.status != "sending" or routed.index is None or routed.openid is None:
            return Finished(routed.status)
        purpose = snapshot.name
        index = routed.index
        config = plan_of.configs[index]
        channel = config["channel"]
        plan = Plan(
            message_id=routed.message_id, member_no=member_no, purpose=purpose, channel=channel, index=index,
            template_id=config.get("template_id") if channel != "custom" else None, openid=routed.openid,
            appid=self.settings.mp_appid if channel == "subscribe" else self.settings.oa_appid,
            body=build_body(self.settings, config, plan_of.rendered[index], routed.openid, routed.message_id),
            interaction=routed.interaction,
        )
        outcome = await self.dispatcher._call(plan)
        if outcome.kind == "sent" and not outcome.tries:
            event = sent_row(source=self.settings.service_name, member_no=member_no, message_id=plan.message_id,
                             purpose=purpose, channel=channel, template_id=plan.template_id,
                             wechat_msgid=outcome.msgid, fell_back=bool(routed.reasons),
                             message_class=snapshot.message_class)
            try:
                finished = await self.recorder.record(plan, outcome, event)
                self.counts["batched"] += 1
                return finished
            except Exception as exc:
                log.warning("batched_record_failed", message_id=plan.message_id, error=repr(exc))
        # Anything else (and a batch that failed): the ORM record, then the ORM route of any fallback.
        async with unit_of_work(self.runtime.session_factory) as session:
            again, message = await self.dispatcher._record(session, plan, outcome)
        if again:
            message = await self.dispatcher.dispatch(plan.message_id) or message
        return Finished(message.status, message.sent_at, message.delivered_at, message.delivery_status, message)
