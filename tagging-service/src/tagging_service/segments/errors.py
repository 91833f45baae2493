"""Typed errors of segments."""

from __future__ import annotations

from shared.errors import Conflict, Invalid, NotFound


def segment_not_found() -> NotFound:
    """No saved segment with that id."""
    return NotFound("人群不存在。", slug="segment-not-found", title="Segment not found")


def invalid_definition(errors: list[dict[str, str]]) -> Invalid:
    """The definition names unknown tags, facts or segments, or is malformed."""
    return Invalid("人群条件有误，请检查标出的字段。", slug="invalid-segment-definition",
                   title="Invalid segment definition", errors=errors)


def segment_in_use() -> Conflict:
    """Another segment uses this one."""
    return Conflict("其他人群引用了该人群，不能删除。", slug="segment-in-use", title="Segment in use")
