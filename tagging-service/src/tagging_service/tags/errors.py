"""Typed errors of tags and member tags (Simplified Chinese details for staff)."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound


def tag_not_found() -> NotFound:
    """No live tag with that id."""
    return NotFound("标签不存在。", slug="tag-not-found", title="Tag not found")


def group_not_found() -> NotFound:
    """No tag group with that id."""
    return NotFound("标签组不存在。", slug="tag-group-not-found", title="Tag group not found")


def member_tag_not_found() -> NotFound:
    """The member does not carry the tag."""
    return NotFound("该学员没有这个标签。", slug="member-tag-not-found", title="Member tag not found")


def name_taken() -> Conflict:
    """A live tag (or group) already has that name."""
    return Conflict("同名标签已存在。", slug="tag-name-taken", title="Tag name taken")


def group_name_taken() -> Conflict:
    """A group already has that name."""
    return Conflict("同名标签组已存在。", slug="tag-group-name-taken", title="Tag group name taken")


def system_tag() -> Forbidden:
    """System tags are maintained by the service (the blocklist has its own endpoints)."""
    return Forbidden("系统标签不能手动修改，请使用对应功能（如黑名单）。", slug="system-tag", title="System tag")
