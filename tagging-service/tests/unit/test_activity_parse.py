"""The fast parse of activity items agrees with the contract's validation (pure logic)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts.gateway import ActivityRecorded
from tagging_service.facts.activity import _parse

ITEMS = [
    {"member_no": 10001, "kind": "quiz.answered", "at": "2026-12-01T10:00:00.123456+00:00",
     "props": {"quiz_id": 1, "correct": False, "series_id": 3}, "client_event_id": "c1"},
    {"member_no": 10001, "kind": "page.viewed", "at": "2026-12-01T10:00:00Z", "duration_ms": 5, "page": "/p"},
    {"member_no": 10001, "kind": "page.viewed", "at": None},
    {"member_no": 10001, "kind": "page.viewed", "at": "2026-12-01T10:00:00"},  # naive: pydantic decides
    {"member_no": "10001", "kind": "custom.x", "at": "2026-12-01T10:00:00+08:00"},  # coerced by pydantic
]


@pytest.mark.parametrize("item", ITEMS)
def test_fast_parse_equals_validation(item):
    assert _parse(item) == ActivityRecorded.model_validate(item)


@pytest.mark.parametrize("item", [{"member_no": 1.5, "kind": "x"}, {"kind": "x", "at": "yesterday"},
                                  {"member_no": 1, "kind": 5}])
def test_malformed_items_are_refused_as_before(item):
    with pytest.raises(ValidationError):
        _parse(item)
