"""New plain sends routed in batches: concurrent sends recorded and routed by one statement.

``messaging_send_many`` (migration b7e2d4c8f1a3) takes the batch as arrays:
one round trip and one commit for many sends, each reserve still the
conditional UPDATE of ``messaging_route``, so the ledger stays exact. A batch
is sorted by member number, so two batches lock any two members' ledger rows
in the same order. A batch that fails (a key a concurrent request recorded
first, a deadlock, anything) is retried one send at a time, each in its own
transaction, as before batching.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from messaging_service.messages.batching import Batches
from shared.runtime import ServiceRuntime

SEND_MANY_SQL = """SELECT * FROM messaging_send_many($1, $2, $3, $4, $5, $6, $7::jsonb[], $8, $9::jsonb[], $10, $11,
                                                     $12, $13, $14, $15, $16, $17::jsonb[])"""


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """A purpose's channels for some data, as the routing statement judges them."""

    kinds: tuple[str, ...]
    template_ids: tuple[str | None, ...]
    usable: tuple[bool, ...]


@dataclass(slots=True)
class SendRequest:
    """One new send for the routing statement (JSON already encoded)."""

    source: str
    key: str
    digest: str
    member_no: int
    purpose: str
    message_class: str
    data: str
    now: datetime
    requested: str | None  # the ``requested`` outbox row (message id set by the statement), or none to write
    cap_day: date | None
    cap: int | None
    plan: ChannelPlan
    undeliverable: str  # the ``undeliverable`` outbox row, used when no channel is


@dataclass(slots=True)
class Routed:
    """What the routing statement answered."""

    message_id: int
    status: str  # sending | undeliverable | exists | slow
    index: int | None
    openid: str | None
    interaction: str | None
    reason: str | None
    reasons: list[str]


def _reasons(value: Any) -> list[str]:
    return orjson.loads(value) if isinstance(value, str) else list(value or [])


class SendRouter(Batches[SendRequest, Routed | None]):
    """Routes new sends, many per statement; ``None`` for a key already recorded (the ORM path answers)."""

    name = "router"

    def __init__(self, runtime: ServiceRuntime, *, writers: int = 3, max_batch: int = 200) -> None:
        super().__init__(writers=writers, max_batch=max_batch)
        self.runtime = runtime
        # Batches written in one statement, and sends retried one by one after a failed batch (tests read them).
        self.statements = 0
        self.retried = 0

    async def route(self, request: SendRequest) -> Routed | None:
        """Record and route one new send (in whatever batch it joins)."""
        return await self.submit(request)

    async def write(self, items: list[SendRequest]) -> list[Routed | BaseException | None]:
        """The batch in one statement; after a failure, one send at a time."""
        try:
            return await self._many(items)
        except Exception:  # nothing of the batch was written (one transaction): one send at a time, as before
            self.retried += len(items)
            return list(await asyncio.gather(*(self._one(item) for item in items), return_exceptions=True))

    async def _many(self, items: list[SendRequest]) -> list[Routed | BaseException | None]:
        pool = self.runtime.driver_pool
        assert pool is not None
        # One lock order for every batch: by member (each member's ledger rows are taken together).
        order = sorted(range(len(items)), key=lambda i: items[i].member_no)
        sends = [items[i] for i in order]
        plans: dict[ChannelPlan, int] = {}
        for send in sends:
            plans.setdefault(send.plan, len(plans) + 1)
        width = max(len(plan.kinds) for plan in plans)

        def padded(values: tuple[Any, ...]) -> list[Any]:
            return list(values) + [None] * (width - len(values))

        rows = await pool.fetch(
            SEND_MANY_SQL,
            [s.source for s in sends], [s.key for s in sends], [s.digest for s in sends],
            [s.member_no for s in sends], [s.purpose for s in sends], [s.message_class for s in sends],
            [s.data for s in sends], [s.now for s in sends], [s.requested for s in sends],
            [s.cap_day for s in sends], [s.cap for s in sends], [plans[s.plan] for s in sends],
            [len(plan.kinds) for plan in plans], [padded(plan.kinds) for plan in plans],
            [padded(plan.template_ids) for plan in plans], [padded(plan.usable) for plan in plans],
            [s.undeliverable for s in sends],
        )
        self.statements += 1
        results: list[Routed | BaseException | None] = [LookupError("not routed")] * len(items)
        for row in rows:
            n = int(row[0]) - 1
            results[order[n]] = None if row[2] == "exists" else Routed(
                int(row[1]), str(row[2]), row[3], row[4], row[5], row[6], _reasons(row[7]))
        return results

    async def _one(self, item: SendRequest) -> Routed | None:
        # Alone in its own transaction; once more if that fails too: a key a concurrent transaction had recorded
        # is committed by then (the statement answers "exists"), a deadlock's other side has finished.
        try:
            result = (await self._many([item]))[0]
        except Exception:
            result = (await self._many([item]))[0]
        if isinstance(result, BaseException):
            raise result
        return result
