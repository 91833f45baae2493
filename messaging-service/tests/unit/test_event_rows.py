"""The hot path's outbox rows from a per-purpose template are the rows ``outbox_row`` writes from the models."""

from __future__ import annotations

from typing import Any

import orjson

from messaging_service.messages.event_rows import sent_row, undeliverable_row
from shared.contracts.messaging import MessageSent, MessageUndeliverable
from shared.events.outbox import outbox_row
from shared.observability import bind_ids


def _comparable(row: dict[str, Any]) -> bytes:
    """The row as the statements receive it (JSON), its own id and time set aside."""
    envelope = dict(row["envelope"])
    assert envelope.pop("id") == str(row["event_id"])
    envelope.pop("occurred_at")
    return orjson.dumps({**row, "event_id": None, "envelope": envelope})


def test_undeliverable_row_is_outbox_rows_own():
    bind_ids(request_id="r1", trace_id="trace-a")
    for member_no, purpose, message_class in [(7, "order_paid", "transactional"), (12345, "promo", "marketing"),
                                               (8, "promo", "marketing"), (9, "legacy", None)]:
        fast = undeliverable_row(source="messaging", member_no=member_no, purpose=purpose,
                                 message_class=message_class)
        model = outbox_row(MessageUndeliverable(member_no=member_no, message_id=0, purpose=purpose,
                                                reason="no_credit", message_class=message_class),
                           source="messaging", member_no=member_no)
        assert _comparable(fast) == _comparable(model)
        assert fast["envelope"]["trace_id"] == "trace-a"


def test_sent_row_is_outbox_rows_own_and_each_row_its_own():
    rows = []
    for trace, kwargs in [
        ("trace-b", dict(member_no=3, message_id=41, purpose="order_paid", channel="subscribe",
                         template_id="tpl-1", wechat_msgid="m-1", fell_back=False, message_class="transactional")),
        ("trace-c", dict(member_no=4, message_id=42, purpose="order_paid", channel="custom", template_id=None,
                         wechat_msgid=None, fell_back=True, message_class="transactional")),
        ("trace-d", dict(member_no=5, message_id=43, purpose="promo", channel="template", template_id="tpl-2",
                         wechat_msgid="m-3", fell_back=True, message_class="marketing")),
    ]:
        bind_ids(request_id=trace, trace_id=trace)
        fast = sent_row(source="messaging", **kwargs)  # type: ignore[arg-type]
        model = outbox_row(MessageSent(**kwargs), source="messaging",  # type: ignore[arg-type]
                           member_no=kwargs["member_no"])  # type: ignore[arg-type]
        assert _comparable(fast) == _comparable(model)
        assert fast["envelope"]["trace_id"] == trace
        rows.append(fast)
    # A template is shared by a purpose's sends: no row may carry another's id or fields.
    assert len({row["event_id"] for row in rows}) == 3
    assert [row["envelope"]["data"]["message_id"] for row in rows] == [41, 42, 43]
