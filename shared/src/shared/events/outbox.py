"""Transactional outbox: the event row is written in the caller's transaction.

``emit()`` never talks to Kafka. The relay (:mod:`shared.events.relay`)
publishes committed rows in id order and marks them published, so Kafka being
down never fails a request and never loses an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Index, Integer, Table, Text, event, func, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import Uuid

from shared.contracts import EventData, spec_of
from shared.db import SharedBase
from shared.events.envelope import Envelope, new_event_id, utcnow
from shared.observability import current_trace_id

NOTIFY_CHANNEL = "qunyun_outbox"


class OutboxMessage(SharedBase):
    """One event waiting to be (or already) published."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    topic: Mapped[str] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_outbox_published_at", "published_at"),
    )


# The Core table, for the bulk insert below.
OUTBOX_TABLE = cast(Table, OutboxMessage.__table__)


def service_of(session: AsyncSession) -> str:
    """The producing service, set on the session factory by the app runtime."""
    source = session.info.get("service")
    if not source:
        raise RuntimeError("session has no 'service' in its info; use the runtime's session factory")
    return str(source)


async def emit(
    session: AsyncSession,
    data: EventData,
    *,
    member_no: int | None,
    key: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Record an event in the current transaction; it is published after commit.

    The row is written when the transaction commits (see below), so the
    event exists exactly when the state change it describes does.
    """
    row = outbox_row(data, source=service_of(session), member_no=member_no, key=key, occurred_at=occurred_at)
    session.info.setdefault(PENDING_KEY, []).append(row)
    return Envelope.model_validate(row["envelope"])


def outbox_row(
    data: EventData,
    *,
    source: str,
    member_no: int | None,
    key: str | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The outbox row of an event: its envelope, topic and partition key.

    The Kafka key is the member number (per-member ordering); events about no
    member yet (e.g. a push from an unknown openid) pass an explicit ``key``.
    """
    spec = spec_of(data)
    event_id = new_event_id()
    # Built as the JSON form of an Envelope directly: validating a model only
    # to dump it again costs more than the rest of emit() on busy writers.
    envelope = {
        "id": str(event_id),
        "type": spec.type,
        "version": spec.version,
        "occurred_at": (occurred_at or utcnow()).isoformat(),
        "source": source,
        "member_no": member_no,
        "trace_id": current_trace_id(),
        "data": data.model_dump(mode="json"),
    }
    return {
        "event_id": event_id,
        "topic": spec.topic,
        "key": key if key is not None else (str(member_no) if member_no is not None else None),
        "type": spec.type,
        "envelope": envelope,
    }


# Rows are written in one multi-row INSERT just before the transaction
# commits: one round trip per transaction instead of one per event, and a
# rolled-back transaction never writes them at all.
PENDING_KEY = "outbox_pending"
WRITTEN_KEY = "outbox_written"
# Session info set by a process whose own relay publishes its rows: a callable
# that wakes that relay after commit. Without it, the transaction sends a
# NOTIFY that wakes the relay listening in another process (a separate worker).
# In-process waking is preferred because PostgreSQL serialises the commits of
# transactions that NOTIFY (measured: half the single-statement write rate).
WAKE_KEY = "outbox_wake"


def notify_sql() -> str:
    """The statement that wakes relays listening in other processes (delivered at commit)."""
    return f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"


@event.listens_for(Session, "before_commit")
def _write_pending_events(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        # Core insert on the table: the ORM bulk-insert path costs several
        # times more CPU per row and adds nothing here.
        session.execute(insert(OUTBOX_TABLE), pending)
        if session.info.get(WAKE_KEY) is None:
            session.execute(text(notify_sql()))
        session.info[WRITTEN_KEY] = True


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(WRITTEN_KEY, False):
        wake = session.info.get(WAKE_KEY)
        if wake is not None:
            wake()


@event.listens_for(Session, "after_rollback")
def _drop_pending_events(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
    session.info.pop(WRITTEN_KEY, None)


# The first migrations of every service created a trigger that sent a NOTIFY
# for every outbox insert; a later migration drops it (see WAKE_KEY above).
# NOTIFY is delivered at commit, and not at all on rollback; the relay also
# polls, so a lost notification only delays.
NOTIFY_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION qunyun_outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
NOTIFY_TRIGGER_SQL = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION qunyun_outbox_notify();
"""
# One statement: asyncpg refuses several statements in one execute.
DROP_NOTIFY_SQL = """
DO $$ BEGIN
  DROP TRIGGER IF EXISTS outbox_notify ON outbox;
  DROP FUNCTION IF EXISTS qunyun_outbox_notify();
END $$;
"""
