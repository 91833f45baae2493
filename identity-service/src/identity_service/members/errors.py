"""Problems of the members domain."""

from shared.errors import Conflict, NotFound


def member_not_found(member_no: int) -> NotFound:
    """No member has this number."""
    return NotFound(f"学号 {member_no:05d} 不存在。", slug="member-not-found", title="Member not found")


def openid_not_found() -> NotFound:
    """No member has this openid."""
    return NotFound("没有找到该 openid 对应的学员。", slug="openid-not-found", title="Openid not found")


def different_persons() -> Conflict:
    """Two members with different UnionIDs are two people."""
    return Conflict(
        "这两个学号对应不同的微信用户，不能合并。",
        slug="members-are-different-people",
        title="Members have different UnionIDs",
    )


def already_merged(member_no: int, into: int) -> Conflict:
    """A retired number cannot be merged again."""
    return Conflict(
        f"学号 {member_no:05d} 已合并到 {into:05d}。",
        slug="member-already-merged",
        title="Member already merged",
    )


def identity_race() -> Conflict:
    """A uniqueness guard fired despite the locks: the client may simply retry."""
    return Conflict(
        "身份信息正在更新，请重试。", slug="identity-conflict", title="Identity changed concurrently"
    )
