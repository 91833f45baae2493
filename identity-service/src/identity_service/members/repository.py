"""SQL of members, their openids and merges."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.members.models import Member, MemberMerge, MemberOpenid

# Bulk updates leave loaded objects alone (no implicit expiry and lazy reload
# under asyncio); code that needs the new values re-reads them.
NO_SYNC = {"synchronize_session": False}


async def get(session: AsyncSession, member_no: int) -> Member | None:
    """The member row (active or retired), as committed now."""
    return await session.scalar(
        select(Member).where(Member.member_no == member_no).execution_options(populate_existing=True)
    )


async def lock(session: AsyncSession, member_nos: Sequence[int]) -> dict[int, Member]:
    """Lock member rows FOR UPDATE in number order (a global order: no deadlocks)."""
    rows = await session.scalars(
        select(Member)
        .where(Member.member_no.in_(member_nos))
        .order_by(Member.member_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.member_no: row for row in rows}


async def by_unionid(session: AsyncSession, unionid: str) -> Member | None:
    """The member holding ``unionid`` (only active members hold one)."""
    return await session.scalar(
        select(Member).where(Member.unionid == unionid).execution_options(populate_existing=True)
    )


async def openid_row(session: AsyncSession, *, appid: str, openid: str) -> MemberOpenid | None:
    """The openid row of (appid, openid)."""
    return await session.scalar(
        select(MemberOpenid)
        .where(MemberOpenid.appid == appid, MemberOpenid.openid == openid)
        .execution_options(populate_existing=True)
    )


async def member_of_openid_locked(
    session: AsyncSession, *, appid: str, openid: str
) -> tuple[Member, str | None] | None:
    """The member holding (appid, openid), its row locked FOR SHARE, and the openid's recorded UnionID.

    One round trip for the common case of a returning member.
    """
    row = (
        await session.execute(
            select(Member, MemberOpenid.unionid)
            .join(MemberOpenid, MemberOpenid.member_no == Member.member_no)
            .where(MemberOpenid.appid == appid, MemberOpenid.openid == openid)
            .with_for_update(read=True, of=Member)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def openid_rows(session: AsyncSession, *, openid: str, appid: str | None = None) -> list[MemberOpenid]:
    """Openid rows with ``openid`` (in one app when ``appid`` is given)."""
    stmt = select(MemberOpenid).where(MemberOpenid.openid == openid)
    if appid is not None:
        stmt = stmt.where(MemberOpenid.appid == appid)
    return list(await session.scalars(stmt.order_by(MemberOpenid.id)))


async def create(
    session: AsyncSession, *, unionid: str | None, first_app: str, channel_scene: str | None
) -> Member | None:
    """Insert a member; None when another member already holds ``unionid``."""
    stmt = (
        insert(Member)
        .values(unionid=unionid, first_app=first_app, channel_scene=channel_scene)
        .on_conflict_do_nothing(index_elements=["unionid"])
        .returning(Member)
    )
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def add_openid(
    session: AsyncSession, *, member_no: int, app: str, appid: str, openid: str, unionid: str | None
) -> bool:
    """Attach (appid, openid) to a member; False when it already belongs to someone."""
    stmt = (
        insert(MemberOpenid)
        .values(member_no=member_no, app=app, appid=appid, openid=openid, unionid=unionid)
        .on_conflict_do_nothing(index_elements=["appid", "openid"])
        .returning(MemberOpenid.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def note_openid_unionid(session: AsyncSession, *, appid: str, openid: str, unionid: str) -> None:
    """Remember the UnionID WeChat reported for an openid."""
    await session.execute(
        update(MemberOpenid)
        .where(MemberOpenid.appid == appid, MemberOpenid.openid == openid, MemberOpenid.unionid.is_(None))
        .values(unionid=unionid),
        execution_options=NO_SYNC,
    )


async def set_unionid(session: AsyncSession, *, member_no: int, unionid: str | None) -> None:
    """Set (or clear) a member's UnionID."""
    await session.execute(
        update(Member).where(Member.member_no == member_no).values(unionid=unionid), execution_options=NO_SYNC
    )


async def openids_of(session: AsyncSession, member_no: int) -> list[MemberOpenid]:
    """Every openid of a member, oldest first."""
    rows = await session.scalars(
        select(MemberOpenid).where(MemberOpenid.member_no == member_no).order_by(MemberOpenid.id)
    )
    return list(rows)


async def openids_of_many(session: AsyncSession, member_nos: Sequence[int]) -> list[MemberOpenid]:
    """Every openid of several members."""
    if not member_nos:
        return []
    rows = await session.scalars(
        select(MemberOpenid).where(MemberOpenid.member_no.in_(member_nos)).order_by(MemberOpenid.id)
    )
    return list(rows)


async def move_openids(session: AsyncSession, *, from_no: int, into_no: int) -> list[dict[str, str]]:
    """Re-key every openid of ``from_no`` to ``into_no``; returns what moved."""
    result = await session.execute(
        update(MemberOpenid)
        .where(MemberOpenid.member_no == from_no)
        .values(member_no=into_no)
        .returning(MemberOpenid.app, MemberOpenid.appid, MemberOpenid.openid),
        execution_options=NO_SYNC,
    )
    return [{"app": r.app, "appid": r.appid, "openid": r.openid} for r in result]


async def retire(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """Mark ``from_no`` merged into ``into_no``, and re-point members merged into it earlier."""
    await session.execute(
        update(Member)
        .where(Member.member_no == from_no)
        .values(status="merged", merged_into=into_no, merged_at=func.now(), unionid=None),
        execution_options=NO_SYNC,
    )
    # Keep every retired number one hop from its survivor.
    await session.execute(
        update(Member).where(Member.merged_into == from_no).values(merged_into=into_no),
        execution_options=NO_SYNC,
    )


async def record_merge(
    session: AsyncSession, *, from_no: int, into_no: int, reason: str, actor: str, details: dict[str, Any]
) -> MemberMerge:
    """Write the merge record."""
    merge = MemberMerge(
        from_member_no=from_no, into_member_no=into_no, reason=reason, actor=actor, details=details
    )
    session.add(merge)
    await session.flush()
    return merge


async def merges_of(session: AsyncSession, member_no: int) -> list[MemberMerge]:
    """Merges into or out of ``member_no`` and of the members merged into it, oldest first."""
    absorbed = select(Member.member_no).where(Member.merged_into == member_no)
    rows = await session.scalars(
        select(MemberMerge)
        .where(
            or_(
                MemberMerge.into_member_no == member_no,
                MemberMerge.from_member_no == member_no,
                MemberMerge.into_member_no.in_(absorbed),
            )
        )
        .order_by(MemberMerge.id)
    )
    return list(rows)


async def page(
    session: AsyncSession,
    *,
    limit: int,
    before: int | None = None,
    member_nos: Sequence[int] | None = None,
    unionid: str | None = None,
) -> list[Member]:
    """Active members, newest number first, optionally restricted."""
    stmt = select(Member).where(Member.status == "active")
    if before is not None:
        stmt = stmt.where(Member.member_no < before)
    if member_nos is not None:
        stmt = stmt.where(Member.member_no.in_(member_nos))
    if unionid is not None:
        stmt = stmt.where(Member.unionid == unionid)
    return list(await session.scalars(stmt.order_by(Member.member_no.desc()).limit(limit)))


async def get_locked(session: AsyncSession, member_no: int) -> Member | None:
    """The member row, locked FOR SHARE: waits for (and then sees) a merge in progress."""
    return await session.scalar(
        select(Member)
        .where(Member.member_no == member_no)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )


async def refresh(session: AsyncSession, member_no: int) -> Member:
    """Re-read a member after bulk updates."""
    member = await session.scalar(
        select(Member).where(Member.member_no == member_no).execution_options(populate_existing=True)
    )
    assert member is not None
    return member
