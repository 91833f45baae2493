"""Creating a broadcast (the audience snapshotted once), its progress and its state changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.broadcasts.models import Broadcast, BroadcastRecipient
from messaging_service.broadcasts.schemas import BroadcastRead
from shared.errors import Conflict, NotFound, Unavailable
from shared.http import ServiceClient

SNAPSHOT_BATCH = 5000
SEGMENT_PAGE = 5000
MAX_SEGMENT_PAGES = 10_000
TRANSITIONS = {
    "pause": ({"running", "scheduled"}, "paused"),
    "resume": ({"paused"}, "running"),
    "cancel": ({"running", "scheduled", "paused"}, "cancelled"),
}


async def segment_members(tagging: ServiceClient, segment_id: int) -> list[int]:
    """Every member of a tagging segment, page by page (``GET /internal/segments/{id}/members``)."""
    members: list[int] = []
    cursor: str | None = None
    for _ in range(MAX_SEGMENT_PAGES):
        params: dict[str, str | int] = {"limit": SEGMENT_PAGE}
        if cursor:
            params["cursor"] = cursor
        response = await tagging.request("GET", f"/internal/segments/{segment_id}/members", params=params)
        if response.status_code == 404:
            raise NotFound("人群不存在。", slug="segment-not-found")
        if response.status_code >= 400:
            raise Unavailable("标签服务暂时不可用，无法读取人群。", slug="tagging-unavailable")
        page: dict[str, Any] = response.json()
        # tagging answers {"members": [member numbers ascending], "next_cursor"}.
        members.extend(int(m) for m in page.get("members", []))
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return members


async def create(
    session: AsyncSession, *, purpose: str, data: dict[str, Any], segment_id: int | None, member_nos: list[int],
    rate: float, send_at: datetime | None, staff_id: int | None, now: datetime,
) -> Broadcast:
    """A broadcast with its recipients (each member once, in order)."""
    unique = list(dict.fromkeys(member_nos))
    started = send_at is None or send_at <= now
    broadcast = Broadcast(
        purpose=purpose, data=data, segment_id=segment_id, rate_per_second=rate,
        state="running" if started else "scheduled", total=len(unique), send_at=send_at, created_by=staff_id,
        started_at=now if started else None,
    )
    session.add(broadcast)
    await session.flush()
    for start in range(0, len(unique), SNAPSHOT_BATCH):
        rows = [{"broadcast_id": broadcast.id, "seq": start + i, "member_no": m}
                for i, m in enumerate(unique[start:start + SNAPSHOT_BATCH])]
        await session.execute(insert(BroadcastRecipient), rows)
    return broadcast


async def get(session: AsyncSession, broadcast_id: int, *, lock: bool = False) -> Broadcast:
    """A broadcast by id."""
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=lock)
    if broadcast is None:
        raise NotFound("群发不存在。", slug="broadcast-not-found")
    return broadcast


async def transition(session: AsyncSession, broadcast_id: int, action: str, now: datetime) -> Broadcast:
    """Pause, resume or cancel."""
    broadcast = await get(session, broadcast_id, lock=True)
    allowed, target = TRANSITIONS[action]
    if broadcast.state not in allowed:
        raise Conflict(f"群发当前状态为 {broadcast.state}，不能执行该操作。", slug="broadcast-state")
    broadcast.state = target
    if target == "running" and broadcast.started_at is None:
        broadcast.started_at = now
    if target == "cancelled":
        broadcast.finished_at = now
    await session.flush()
    return broadcast


async def progress(session: AsyncSession, broadcast: Broadcast) -> BroadcastRead:
    """The broadcast with its counts."""
    read = BroadcastRead.model_validate(broadcast)
    rows = await session.execute(
        text("""SELECT m.status, m.reason, (jsonb_array_length(m.reasons) > 0) AS fell, count(*)
                FROM broadcast_recipients r JOIN messages m ON m.id = r.message_id
                WHERE r.broadcast_id = :b GROUP BY 1, 2, 3"""),
        {"b": broadcast.id},
    )
    pending = 0
    for status, reason, fell, count in rows:
        if status in ("sent", "delivered"):
            read.sent += count
            read.fell_back += count if fell else 0
        elif status == "undeliverable":
            read.undeliverable[reason or "no_credit"] = read.undeliverable.get(reason or "no_credit", 0) + count
        elif status == "failed":
            read.failed += count
        elif status == "unknown":
            read.unknown += count
        else:
            pending += count
    unclaimed = await session.scalar(
        text("SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = :b AND message_id IS NULL"),
        {"b": broadcast.id},
    )
    read.remaining = pending + (0 if broadcast.state == "cancelled" else int(unclaimed or 0))
    return read


async def report_rows(session: AsyncSession, broadcast_id: int) -> list[tuple[Any, ...]]:
    """One row per recipient: member, message, status, channel, reason."""
    rows = await session.execute(
        text("""SELECT r.member_no, r.message_id, COALESCE(m.status, 'not_sent'), m.channel, m.reason
                FROM broadcast_recipients r LEFT JOIN messages m ON m.id = r.message_id
                WHERE r.broadcast_id = :b ORDER BY r.seq"""),
        {"b": broadcast_id},
    )
    return [tuple(r) for r in rows]
