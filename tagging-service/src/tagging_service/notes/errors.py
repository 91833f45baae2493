"""Typed errors of service records."""

from __future__ import annotations

from shared.errors import Forbidden, NotFound


def note_not_found() -> NotFound:
    """No such note for this member."""
    return NotFound("服务记录不存在。", slug="note-not-found", title="Note not found")


def not_author() -> Forbidden:
    """Only the author edits a note."""
    return Forbidden("只有记录的作者可以修改。", slug="note-not-author", title="Not the author")


def edit_window_passed() -> Forbidden:
    """Notes are editable for 24 hours."""
    return Forbidden("记录创建超过 24 小时，不能再修改。", slug="note-edit-window-passed", title="Edit window passed")
