"""SQL of the audience projections (openid → member, follows, the blocklist)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Reachable:
    """What the router needs to know about a member: an openid per app, follow, blocklist."""

    mp_openid: str | None
    oa_openid: str | None
    following: bool
    blocked: bool


async def see_openid(session: AsyncSession, *, openid: str, app: str) -> None:
    """Remember an openid (its member may be learnt later from identity)."""
    await session.execute(
        text("INSERT INTO openids (openid, app) VALUES (:openid, :app) ON CONFLICT (openid) DO NOTHING"),
        {"openid": openid, "app": app},
    )


async def link_openid(session: AsyncSession, *, openid: str, app: str, member_no: int) -> None:
    """identity says whose openid this is."""
    await session.execute(
        text(
            """INSERT INTO openids (openid, app, member_no) VALUES (:openid, :app, :member_no)
               ON CONFLICT (openid) DO UPDATE SET member_no = :member_no, updated_at = now()"""
        ),
        {"openid": openid, "app": app, "member_no": member_no},
    )


async def set_following(session: AsyncSession, *, openid: str, following: bool, at: datetime) -> None:
    """A follow or an unfollow of the service account; an older fact never overrides a newer one."""
    column = "followed_at" if following else "unfollowed_at"
    await session.execute(
        text(
            f"""INSERT INTO openids (openid, app, following, {column}) VALUES (:openid, 'oa', :following, :at)
                ON CONFLICT (openid) DO UPDATE SET following = :following, {column} = :at, updated_at = now()
                WHERE GREATEST(COALESCE(openids.followed_at, '-infinity'), COALESCE(openids.unfollowed_at,
                  '-infinity')) <= :at"""  # noqa: S608 (column is one of two literals)
        ),
        {"openid": openid, "following": following, "at": at},
    )


async def mark_not_following(session: AsyncSession, *, openid: str) -> None:
    """WeChat answered 43004: the openid does not follow (whatever we last heard)."""
    await session.execute(text("UPDATE openids SET following = false WHERE openid = :openid"), {"openid": openid})


async def member_of(session: AsyncSession, openid: str) -> int | None:
    """The member behind an openid, if identity has told us."""
    value = await session.scalar(text("SELECT member_no FROM openids WHERE openid = :openid"), {"openid": openid})
    return int(value) if value is not None else None


async def app_of(session: AsyncSession, openid: str) -> str | None:
    """The app an openid belongs to, if seen."""
    value = await session.scalar(text("SELECT app FROM openids WHERE openid = :openid"), {"openid": openid})
    return str(value) if value is not None else None


_REACHABLE = text(
    """SELECT
         (SELECT openid FROM openids WHERE member_no = :m AND app = 'mp' ORDER BY updated_at DESC LIMIT 1),
         (SELECT openid FROM openids WHERE member_no = :m AND app = 'oa' ORDER BY following DESC, updated_at DESC
          LIMIT 1),
         COALESCE((SELECT bool_or(following) FROM openids WHERE member_no = :m AND app = 'oa'), false),
         EXISTS (SELECT 1 FROM blocked_members WHERE member_no = :m)"""
)


async def reachable(session: AsyncSession, member_no: int) -> Reachable:
    """The member's openids, follow state and blocklist state, in one round trip."""
    row = (await session.execute(_REACHABLE, {"m": member_no})).one()
    return Reachable(mp_openid=row[0], oa_openid=row[1], following=bool(row[2]), blocked=bool(row[3]))


async def block(session: AsyncSession, *, member_no: int, reason: str, at: datetime) -> None:
    """Put a member on the local copy of the blocklist."""
    await session.execute(
        text(
            """INSERT INTO blocked_members (member_no, reason, blocked_at) VALUES (:m, :reason, :at)
               ON CONFLICT (member_no) DO UPDATE SET reason = :reason, blocked_at = :at"""
        ),
        {"m": member_no, "reason": reason, "at": at},
    )


async def unblock(session: AsyncSession, *, member_no: int) -> None:
    """Take a member off the local copy of the blocklist."""
    await session.execute(text("DELETE FROM blocked_members WHERE member_no = :m"), {"m": member_no})


async def rekey(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """A merge: the retired member's openids, caps, sends and blocklist entry move to the survivor."""
    params = {"from": from_no, "into": into_no}
    for sql in (
        "UPDATE openids SET member_no = :into WHERE member_no = :from",
        "UPDATE messages SET member_no = :into WHERE member_no = :from",
        """UPDATE daily_caps d SET member_no = :into WHERE d.member_no = :from AND NOT EXISTS (
             SELECT 1 FROM daily_caps s WHERE s.member_no = :into AND s.local_date = d.local_date)""",
        """UPDATE blocked_members SET member_no = :into WHERE member_no = :from
             AND NOT EXISTS (SELECT 1 FROM blocked_members WHERE member_no = :into)""",
        "UPDATE broadcast_recipients SET member_no = :into WHERE member_no = :from",
    ):
        await session.execute(text(sql), params)
