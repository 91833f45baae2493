"""Identity resolution: find or create the member of an openid, link UnionIDs, follow merges.

Concurrent first sightings of one person converge because every resolution
first takes transaction-scoped advisory locks on its keys (the openid and,
when known, the UnionID) and only then looks and inserts; the unique
constraints on (appid, openid) and unionid are the safety net. Numbers are
therefore not burned by losing racers.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service import locks
from identity_service.members import merging, repository
from identity_service.members.errors import identity_race, member_not_found
from identity_service.members.models import Member
from shared.contracts.identity import AppKind, IdentityLinked, MemberCreated
from shared.events.outbox import emit

log = structlog.get_logger("identity.members")

# Retired numbers point straight at their survivor; a few hops are tolerated.
MAX_MERGE_HOPS = 8


@dataclass(frozen=True)
class Resolution:
    """The member of an openid and whether it was created just now."""

    member: Member
    created: bool


def display_no(member_no: int) -> str:
    """The member number as shown to people: zero-padded to at least five digits."""
    return f"{member_no:05d}"


async def active_member(session: AsyncSession, member_no: int, *, lock: bool = False) -> Member:
    """The member behind ``member_no``, following merges to the survivor.

    With ``lock`` the row is held FOR SHARE, so a concurrent merge (which
    locks FOR UPDATE) either finishes first and is followed, or waits for us.
    """
    load = repository.get_locked if lock else repository.get
    member = await load(session, member_no)
    hops = 0
    while member is not None and member.merged_into is not None and hops < MAX_MERGE_HOPS:
        member = await load(session, member.merged_into)
        hops += 1
    if member is None or member.status != "active":
        raise member_not_found(member_no)
    return member


async def resolve_openid(
    session: AsyncSession,
    *,
    app: AppKind,
    appid: str,
    openid: str,
    unionid: str | None = None,
    channel_scene: str | None = None,
) -> Resolution:
    """Find or create the member of (appid, openid), linking or merging by UnionID."""
    # Fast path, no advisory locks: a known openid of an active member that
    # learns nothing new (the share lock still waits for a merge in progress).
    known = await repository.member_of_openid_locked(session, appid=appid, openid=openid)
    if known is not None:
        member, recorded_unionid = known
        if member.status == "active" and (unionid is None or (member.unionid == unionid == recorded_unionid)):
            return Resolution(member=member, created=False)

    keys: list[tuple[str, ...]] = [("openid", appid, openid)]
    if unionid:
        keys.append(("unionid", unionid))
    await locks.lock(session, *keys)

    row = await repository.openid_row(session, appid=appid, openid=openid)
    if row is not None:
        member = await active_member(session, row.member_no, lock=True)
        if unionid:
            if row.unionid is None:
                await repository.note_openid_unionid(session, appid=appid, openid=openid, unionid=unionid)
            member = await attach_unionid(session, member, unionid=unionid)
        return Resolution(member=member, created=False)

    if unionid:
        owner = await repository.by_unionid(session, unionid)
        if owner is not None:
            owner = await active_member(session, owner.member_no, lock=True)
            await _link_openid(session, owner, app=app, appid=appid, openid=openid, unionid=unionid)
            return Resolution(member=owner, created=False)

    created = await repository.create(session, unionid=unionid, first_app=app, channel_scene=channel_scene)
    if created is None or not await repository.add_openid(
        session, member_no=created.member_no, app=app, appid=appid, openid=openid, unionid=unionid
    ):
        raise identity_race()
    member = created
    log.info("member_created", member_no=member.member_no, app=app)
    await emit(
        session,
        MemberCreated(
            member_no=member.member_no,
            app=app,
            appid=appid,
            openid=openid,
            unionid=unionid,
            channel_scene=channel_scene,
        ),
        member_no=member.member_no,
    )
    return Resolution(member=member, created=True)


async def attach_unionid(session: AsyncSession, member: Member, *, unionid: str) -> Member:
    """Give ``member`` its UnionID, or merge it with the member that already has it.

    The caller holds the advisory lock of ``unionid``.
    """
    if member.unionid == unionid:
        return member
    if member.unionid is not None:
        # WeChat never changes an openid's UnionID; keep what we have and say so.
        log.warning("unionid_mismatch", member_no=member.member_no, known=member.unionid, reported=unionid)
        return member
    owner = await repository.by_unionid(session, unionid)
    if owner is None:
        await repository.set_unionid(session, member_no=member.member_no, unionid=unionid)
        await emit(
            session, IdentityLinked(member_no=member.member_no, unionid=unionid), member_no=member.member_no
        )
        return await repository.refresh(session, member.member_no)
    return await merging.merge(session, member.member_no, owner.member_no, reason="unionid", actor="system")


async def _link_openid(
    session: AsyncSession, member: Member, *, app: AppKind, appid: str, openid: str, unionid: str | None
) -> None:
    if not await repository.add_openid(
        session, member_no=member.member_no, app=app, appid=appid, openid=openid, unionid=unionid
    ):
        raise identity_race()
    await emit(
        session,
        IdentityLinked(member_no=member.member_no, app=app, appid=appid, openid=openid, unionid=unionid),
        member_no=member.member_no,
    )


async def member_of_openid(session: AsyncSession, *, openid: str, appid: str | None = None) -> Member | None:
    """The (surviving) member of an openid, if known."""
    rows = await repository.openid_rows(session, openid=openid, appid=appid)
    if not rows:
        return None
    return await active_member(session, rows[0].member_no)
