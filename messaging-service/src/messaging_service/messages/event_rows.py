"""The hot path's outbox rows, built from a per-purpose template: the rows :func:`outbox_row` writes, cheaper.

Profiled at about 900 plain sends a second, building each send's events
through their pydantic models (validation, then ``model_dump``) cost about 3 %
of messaging's CPU, the ``undeliverable`` row every send passes to the routing
statement (and that only an undeliverable send uses) most of it. The parts an
event shares with every other event of its purpose (topic, type, version,
source, purpose, message class) come from one :func:`outbox_row` per purpose;
each send fills in its own event id, time, trace id and fields. The result is
the same row, key for key and in the same order (tests compare the two).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shared.contracts.messaging import MessageSent, MessageUndeliverable
from shared.events.envelope import new_event_id, utcnow
from shared.events.outbox import outbox_row
from shared.observability import current_trace_id


@lru_cache(maxsize=1024)
def _undeliverable_template(source: str, purpose: str, message_class: str | None) -> dict[str, Any]:
    row: dict[str, Any] = outbox_row(
        MessageUndeliverable(member_no=0, message_id=0, purpose=purpose, reason="no_credit",
                             message_class=message_class),
        source=source, member_no=0)
    return row


@lru_cache(maxsize=1024)
def _sent_template(source: str, purpose: str, message_class: str | None) -> dict[str, Any]:
    row: dict[str, Any] = outbox_row(
        MessageSent(member_no=0, message_id=0, purpose=purpose, channel="custom", message_class=message_class),
        source=source, member_no=0)
    return row


def _filled(template: dict[str, Any], member_no: int, fields: dict[str, Any]) -> dict[str, Any]:
    event_id = new_event_id()
    envelope = template["envelope"]
    return {
        "event_id": event_id,
        "topic": template["topic"],
        "key": str(member_no),
        "type": template["type"],
        "envelope": {
            **envelope, "id": str(event_id), "occurred_at": utcnow().isoformat(), "member_no": member_no,
            "trace_id": current_trace_id(), "data": {**envelope["data"], "member_no": member_no, **fields},
        },
    }


def undeliverable_row(*, source: str, member_no: int, purpose: str, message_class: str | None) -> dict[str, Any]:
    """The ``undeliverable`` row the routing statement writes when no channel is usable.

    ``message_id``, ``reason`` and ``reasons`` are placeholders the statement sets.
    """
    return _filled(_undeliverable_template(source, purpose, message_class), member_no,
                   {"message_id": 0, "reason": "no_credit", "reasons": []})


def sent_row(*, source: str, member_no: int, message_id: int, purpose: str, channel: str, template_id: str | None,
             wechat_msgid: str | None, fell_back: bool, message_class: str | None) -> dict[str, Any]:
    """The ``sent`` row of a plain success (``channel`` one of the purpose's channels: already a valid one)."""
    return _filled(_sent_template(source, purpose, message_class), member_no, {
        "message_id": message_id, "channel": channel, "template_id": template_id, "wechat_msgid": wechat_msgid,
        "fell_back": fell_back,
    })
