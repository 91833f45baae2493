"""SQL of referrals."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.referrals.models import Referral

# Walks up from a member through their inviters; UNION (not ALL) stops on any loop.
_CHAIN_SQL = text(
    """
    WITH RECURSIVE chain(member_no) AS (
        SELECT inviter_member_no FROM referrals WHERE invitee_member_no = :start
        UNION
        SELECT r.inviter_member_no FROM referrals r JOIN chain c ON r.invitee_member_no = c.member_no
    )
    SELECT EXISTS (SELECT 1 FROM chain WHERE member_no = :target)
    """
)

# One referral decision at a time: two members inviting each other at the same
# moment would otherwise both pass the cycle check.
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtext('campaign.referrals'))")


async def lock(session: AsyncSession) -> None:
    """Serialise referral decisions until the transaction ends."""
    await session.execute(_LOCK_SQL)


async def is_upline(session: AsyncSession, *, member_no: int, of: int) -> bool:
    """Whether ``member_no`` brought ``of`` in, directly or through others."""
    return bool(await session.scalar(_CHAIN_SQL, {"start": of, "target": member_no}))


async def of_invitee(session: AsyncSession, invitee: int, *, lock: bool = False) -> Referral | None:
    """The invitee's referral."""
    stmt = select(Referral).where(Referral.invitee_member_no == invitee)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def of_registration(session: AsyncSession, registration_id: int) -> Referral | None:
    """The pending or credited referral a registration carries."""
    return await session.scalar(
        select(Referral).where(Referral.registration_id == registration_id).with_for_update()
    )


async def page(
    session: AsyncSession,
    *,
    inviter: int | None,
    invitee: int | None,
    after: int | None,
    limit: int,
) -> list[Referral]:
    """Referrals by invitee number."""
    stmt = select(Referral).order_by(Referral.invitee_member_no).limit(limit)
    if inviter is not None:
        stmt = stmt.where(Referral.inviter_member_no == inviter)
    if invitee is not None:
        stmt = stmt.where(Referral.invitee_member_no == invitee)
    if after is not None:
        stmt = stmt.where(Referral.invitee_member_no > after)
    return list(await session.scalars(stmt))


async def counts_of(session: AsyncSession, inviter: int) -> dict[str, int]:
    """An inviter's referrals by state."""
    rows = await session.execute(
        select(Referral.state, func.count())
        .where(Referral.inviter_member_no == inviter)
        .group_by(Referral.state)
    )
    return {state: count for state, count in rows}


async def top_inviters(session: AsyncSession, *, limit: int) -> list[tuple[int, int, int]]:
    """Inviters by credited referrals: (inviter, credited, pending)."""
    credited = func.count().filter(Referral.state == "credited")
    rows = await session.execute(
        select(Referral.inviter_member_no, credited, func.count().filter(Referral.state == "pending"))
        .group_by(Referral.inviter_member_no)
        .order_by(credited.desc(), Referral.inviter_member_no)
        .limit(limit)
    )
    return [(int(a), int(b), int(c)) for a, b, c in rows]
