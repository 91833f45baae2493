"""The segment definition language: what parses, and the field paths of what does not."""

from __future__ import annotations

import pytest

from tagging_service.segments.export import csv_chunks, safe_cell
from tagging_service.segments.language import DefinitionError, Leaf, Logical, parse_definition, parse_rank

LAYERED = {
    "and": [
        {"fact": "in_group", "series_id": 3, "op": "gte", "value": 1},
        {"fact": "quiz_error_rate", "series_id": 3, "within_days": 30, "op": "gt", "value": 0.3},
        {"not": {"tag": 1}},
    ]
}


def _errors(definition):
    with pytest.raises(DefinitionError) as caught:
        parse_definition(definition)
    return {(e["field"], e["code"]) for e in caught.value.errors}


def test_the_layered_selection_parses():
    node = parse_definition(LAYERED)
    assert isinstance(node, Logical) and node.op == "and" and len(node.children) == 3
    assert isinstance(node.children[0], Leaf)
    rank = parse_rank({"fact": "checkins", "series_id": 2, "order": "desc"})
    assert rank is not None and rank.fact == "checkins"


def test_problems_name_the_field():
    assert ("definition.and.1.fact", "literal_error") in _errors({"and": [{"tag": 1}, {"fact": "iq", "op": "gt",
                                                                                      "value": 1}]})
    assert ("definition.or.0.value", "missing") in _errors({"or": [{"fact": "paid", "op": "gt"}]})
    assert ("definition", "unknown_clause") in _errors({"tag": 1, "fact": "paid"})
    assert ("definition.and", "invalid_list") in _errors({"and": []})
    assert ("definition.not", "not_an_object") in _errors({"not": 5})
    assert ("definition.tag", "greater_than_equal") in _errors({"tag": 0})
    assert ("definition.extra", "extra_forbidden") in _errors({"tag": 1, "extra": 2})
    assert any(code == "value_error" for _, code in _errors({"attr": "has_phone", "op": "eq", "value": "yes"}))
    assert any(code == "value_error" for _, code in _errors({"fact": "quiz_answers", "period_id": 2, "op": "gt",
                                                             "value": 1}))
    deep: dict = {"tag": 1}
    for _ in range(20):
        deep = {"not": deep}
    assert any(code == "too_deep" for _, code in _errors(deep))
    with pytest.raises(DefinitionError):
        parse_rank({"fact": "checkins", "order": "sideways"})


def test_attributes_are_typed():
    node = parse_definition({"attr": "member_since", "op": "gte", "value": "2026-01-01"})
    assert isinstance(node, Leaf)
    assert _errors({"attr": "member_since", "op": "gte", "value": "yesterday"})
    parse_definition({"attr": "first_channel", "op": "in", "value": ["qr-a", "article"]})


def test_csv_cells_cannot_run_formulas_and_open_in_excel():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("+1") == "'+1" and safe_cell("-2") == "'-2" and safe_cell("@x") == "'@x"
    assert safe_cell("奥数") == "奥数"
    data = b"".join(csv_chunks([(10001, "138****0001", ["=1+1", "奥数"], 3.0)]))
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.splitlines()[1] == "10001,138****0001,'=1+1、奥数,3"
