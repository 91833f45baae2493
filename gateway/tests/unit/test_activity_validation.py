"""Activity items: the hand-written fast path agrees with the full check; events meet their contract."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from gateway.activity.events import event_rows
from gateway.activity.schemas import RejectedItem, Validated
from gateway.activity.validation import _fast_check, _full_check, check_item
from shared.contracts.gateway import ActivityRecorded
from shared.events.envelope import Envelope

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OLDEST, LATEST = NOW - timedelta(hours=24), NOW + timedelta(minutes=5)

GOOD = [
    {"kind": "page.viewed", "at": "2026-12-01T09:59:00+08:00", "page": "pages/a", "duration_ms": 0},
    {"kind": "page.viewed", "at": "2026-12-01T09:59:00.123Z", "page": "页面/详情", "event_id": "e-1"},
    {"kind": "quiz.answered", "at": "2026-12-01T09:00:00+00:00",
     "props": {"quiz_id": 1, "question_id": "q1", "correct": True, "series_id": 3, "extra": "kept"}},
    {"kind": "content.shared", "at": "2026-12-01T09:00:00+00:00", "props": {"target": "moments"}},
    {"kind": "content.shared", "at": "2026-12-01T09:00:00+00:00", "props": {"target": "group", "share_ticket": "t"}},
    {"kind": "custom.video_played", "at": "2026-12-01T09:00:00+00:00", "props": {"a": [1, {"b": None}]}},
    {"kind": "custom.x", "at": "2026-12-01T10:04:59+00:00"},
]

# Each mutation applied to each good item: the fast path may decline, never disagree.
MUTATIONS = [
    {"at": "2026-11-30T09:59:00+00:00"}, {"at": "2026-12-01T10:05:01+00:00"}, {"at": "2026-12-01T09:00:00"},
    {"at": "20261201T090000Z"}, {"at": 1764583200}, {"at": "2026-12-01 09:00:00+00:00"},
    {"page": ""}, {"page": "x" * 257}, {"page": "a\x00"}, {"page": "a\ud800"}, {"page": 5}, {"page": None},
    {"duration_ms": -1}, {"duration_ms": True}, {"duration_ms": 1.5}, {"duration_ms": "5"}, {"duration_ms": 10**10},
    {"event_id": ""}, {"event_id": "x" * 65}, {"event_id": 7}, {"event_id": None},
    {"props": None}, {"props": []}, {"props": {str(i): i for i in range(33)}}, {"props": {"a": "x" * 5000}},
    {"props": {"a": "\x00"}}, {"props": {"quiz_id": True, "question_id": 1, "correct": False}},
    {"props": {"quiz_id": 1, "question_id": 2, "correct": 1}},
    {"props": {"quiz_id": 1, "question_id": 2, "correct": False, "period_id": None}},
    {"props": {"quiz_id": "", "question_id": 2, "correct": False}},
    {"props": {"target": "group", "share_ticket": None}}, {"props": {"target": "weibo"}},
    {"unknown": 1}, {"kind": "custom.Bad"}, {"kind": "page.viewed"},
]


@pytest.mark.parametrize(("good", "mutation"), list(itertools.product(GOOD, [{}, *MUTATIONS])))
def test_fast_path_never_disagrees_with_the_full_check(good, mutation):
    raw = {**good, **mutation}
    full = _full_check(3, raw, NOW)
    fast = _fast_check(raw, OLDEST, LATEST)
    if fast is not None:
        assert isinstance(full, Validated), (raw, full)
        assert fast == full
    assert check_item(3, raw, NOW) == full


@pytest.mark.parametrize("good", GOOD)
def test_fast_path_takes_the_common_items(good):
    assert _fast_check(good, OLDEST, LATEST) is not None


def test_rejections_name_index_reason_and_field():
    result = check_item(4, {"kind": "page.viewed", "at": "2026-12-01T09:00:00+00:00"}, NOW)
    assert isinstance(result, RejectedItem)
    assert (result.index, result.reason, result.field) == (4, "missing-field", "page")


def test_event_rows_meet_the_contract_and_drop_repeats_in_a_batch():
    items = [check_item(i, raw, NOW) for i, raw in enumerate(GOOD)]
    items.append(items[1])  # the same event_id twice
    ids, rows = event_rows(10_001, items)  # type: ignore[arg-type]
    assert len(rows) == len(GOOD) and ids.count("e-1") == 1
    for row, item in zip(rows, items, strict=False):
        envelope = Envelope.model_validate(row["envelope"])
        data = ActivityRecorded.model_validate(envelope.data)
        assert (row["topic"], row["key"], row["type"]) == ("app.activity", "10001", "app.activity.recorded")
        assert envelope.member_no == 10_001 and envelope.source == "gateway"
        assert str(envelope.id) == str(row["event_id"])
        # every field the contract has, and no other (UTC may read +00:00 here, Z in pydantic's dump)
        assert set(row["envelope"]["data"]) == set(ActivityRecorded.model_fields)
        assert (data.kind, data.at, data.page, data.props, data.client_event_id) == (
            item.kind, item.at, item.page, item.props, item.event_id)


@pytest.mark.parametrize("kind", [[False, None], {"a": 1}, 3, None])
def test_a_kind_that_is_not_text_is_rejected_not_a_crash(kind):
    """Found by the fuzzer: an unhashable kind once raised inside the fast path (a 500)."""
    raw = {"kind": kind, "at": [-2.3e305]}
    result = check_item(0, raw, NOW)
    assert isinstance(result, RejectedItem) and result.field == "kind"
