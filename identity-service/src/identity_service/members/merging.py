"""Merging two members who turn out to be one person.

The older number survives; the other is retired and points to it. Every
openid, phone, follow record, session and merge candidate of the retired
member moves to the survivor in the same transaction, the merge is recorded
(who, what, when) and ``identity.member.merged`` goes through the outbox.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.followers import repository as followers_repository
from identity_service.members import repository
from identity_service.members.errors import already_merged, different_persons, member_not_found
from identity_service.members.models import Member
from identity_service.phones import repository as phones_repository
from identity_service.sessions import repository as sessions_repository
from shared.contracts.identity import IdentityLinked, MemberMerged
from shared.events.outbox import emit

log = structlog.get_logger("identity.members.merging")


async def merge(
    session: AsyncSession, a: int, b: int, *, reason: str, actor: str, note: str | None = None
) -> Member:
    """Merge members ``a`` and ``b`` (both active); returns the survivor."""
    survivor_no, retired_no = sorted((a, b))
    rows = await repository.lock(session, [survivor_no, retired_no])
    survivor, retired = rows.get(survivor_no), rows.get(retired_no)
    if survivor is None:
        raise member_not_found(survivor_no)
    if retired is None:
        raise member_not_found(retired_no)
    if survivor_no == retired_no:
        return survivor
    if retired.merged_into is not None:
        if retired.merged_into == survivor_no:
            return survivor
        raise already_merged(retired_no, retired.merged_into)
    if survivor.merged_into is not None:
        raise already_merged(survivor_no, survivor.merged_into)
    if survivor.unionid and retired.unionid and survivor.unionid != retired.unionid:
        raise different_persons()

    moved_unionid: str | None = None
    if retired.unionid and not survivor.unionid:
        moved_unionid = retired.unionid
        # Free the unique key before the survivor takes it.
        await repository.set_unionid(session, member_no=retired_no, unionid=None)
        await repository.set_unionid(session, member_no=survivor_no, unionid=moved_unionid)

    details = {
        "openids": await repository.move_openids(session, from_no=retired_no, into_no=survivor_no),
        "phones": await phones_repository.move_member(session, from_no=retired_no, into_no=survivor_no),
        "follows": await followers_repository.move_member(session, from_no=retired_no, into_no=survivor_no),
        "sessions": await sessions_repository.move_member(session, from_no=retired_no, into_no=survivor_no),
        "merge_candidates": await phones_repository.move_conflicts(
            session, from_no=retired_no, into_no=survivor_no
        ),
        "unionid_moved": moved_unionid is not None,
        "retired_created_at": retired.created_at.isoformat() if retired.created_at else None,
        "retired_channel_scene": retired.channel_scene,
    }
    if note:
        details["note"] = note
    await repository.retire(session, from_no=retired_no, into_no=survivor_no)
    await repository.record_merge(
        session, from_no=retired_no, into_no=survivor_no, reason=reason, actor=actor, details=details
    )
    log.info(
        "members_merged", from_member_no=retired_no, into_member_no=survivor_no, reason=reason, actor=actor
    )
    await emit(
        session,
        MemberMerged(from_member_no=retired_no, into_member_no=survivor_no, reason=reason),
        member_no=survivor_no,
    )
    if moved_unionid is not None:
        await emit(
            session, IdentityLinked(member_no=survivor_no, unionid=moved_unionid), member_no=survivor_no
        )
    return await repository.refresh(session, survivor_no)
