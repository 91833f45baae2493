"""SQL of service-account follow state."""

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.followers.models import Follower

# Bulk updates leave loaded objects alone (no implicit expiry and lazy reload
# under asyncio); code that needs the new values re-reads them.
NO_SYNC = {"synchronize_session": False}


async def get_for_update(session: AsyncSession, *, appid: str, openid: str) -> Follower | None:
    """The follow row of an openid, locked."""
    return await session.scalar(
        select(Follower)
        .where(Follower.appid == appid, Follower.openid == openid)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def add(session: AsyncSession, follower: Follower) -> None:
    """Insert a new follow row."""
    session.add(follower)
    await session.flush()


async def of_member(session: AsyncSession, member_no: int) -> list[Follower]:
    """A member's follow rows (one per service-account openid)."""
    rows = await session.scalars(
        select(Follower).where(Follower.member_no == member_no).order_by(Follower.appid)
    )
    return list(rows)


async def following(session: AsyncSession, member_nos: Sequence[int]) -> set[int]:
    """Which of ``member_nos`` follow a service account now."""
    if not member_nos:
        return set()
    rows = await session.scalars(
        select(Follower.member_no).where(Follower.member_no.in_(member_nos), Follower.subscribed.is_(True))
    )
    return set(rows)


async def move_member(session: AsyncSession, *, from_no: int, into_no: int) -> int:
    """Re-key a merged member's follow rows to the survivor; returns how many."""
    result = await session.execute(
        update(Follower)
        .where(Follower.member_no == from_no)
        .values(member_no=into_no)
        .returning(Follower.openid),
        execution_options=NO_SYNC,
    )
    return len(result.all())
