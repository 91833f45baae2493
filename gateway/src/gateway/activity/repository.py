"""SQL of activity ingest: dedupe claims and outbox rows in one statement."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from shared.events.outbox import notify_sql

# asyncpg placeholders: this runs on the driver pool (shared.db). Items come as
# parallel arrays; ``client_event_id`` is NULL for items without an event_id
# (never deduped). An item with an event_id is written to the outbox only when
# this statement claimed its (member_no, event_id); the whole statement is one
# autocommit transaction, so claims and events commit together or not at all.
_RECORD_ACTIVITY = """
    WITH items AS (
        SELECT * FROM unnest($2::text[], $3::uuid[], $4::jsonb[]) WITH ORDINALITY
            AS t(client_event_id, event_id, envelope, ord)
    ),
    claimed AS (
        INSERT INTO received_activity (member_no, event_id)
        SELECT $1, client_event_id FROM items WHERE client_event_id IS NOT NULL
        ON CONFLICT (member_no, event_id) DO NOTHING
        RETURNING event_id
    )
    INSERT INTO outbox (event_id, topic, key, type, envelope)
    SELECT i.event_id, $5, $6, $7, i.envelope FROM items i
    WHERE i.client_event_id IS NULL OR i.client_event_id IN (SELECT event_id FROM claimed)
    ORDER BY i.ord
    RETURNING id
"""


async def record_activity(
    pool: asyncpg.Pool, *, member_no: int, client_event_ids: list[str | None], rows: list[dict[str, Any]],
    notify: bool,
) -> int:
    """Write the outbox rows of one member's items, skipping already recorded event ids.

    ``client_event_ids`` must be unique within the call (the caller drops
    repeats inside a batch). Returns how many rows were written.
    """
    if not rows:
        return 0
    first = rows[0]
    async with pool.acquire() as conn:
        written = await conn.fetch(
            _RECORD_ACTIVITY, member_no, client_event_ids, [row["event_id"] for row in rows],
            [orjson.dumps(row["envelope"]).decode() for row in rows], first["topic"], first["key"], first["type"],
        )
        if written and notify:
            await conn.execute(notify_sql())
    return len(written)
