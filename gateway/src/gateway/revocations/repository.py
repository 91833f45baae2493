"""SQL of the revocation list."""

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.revocations.models import RevokedAccess


async def record(session: AsyncSession, *, kind: str, subject: str, revoked_at: datetime, reason: str) -> None:
    """Remember a revocation; the latest one of a subject wins."""
    stmt = insert(RevokedAccess).values(kind=kind, subject=subject, revoked_at=revoked_at, reason=reason)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "subject"],
            set_={"revoked_at": func.greatest(RevokedAccess.revoked_at, stmt.excluded.revoked_at),
                  "reason": stmt.excluded.reason},
        )
    )


async def since(session: AsyncSession, moment: datetime) -> list[RevokedAccess]:
    """Revocations newer than ``moment`` (older ones only concern expired tokens)."""
    return list(await session.scalars(select(RevokedAccess).where(RevokedAccess.revoked_at > moment)))


async def forget_before(session: AsyncSession, moment: datetime) -> None:
    """Drop revocations no live token can be affected by."""
    await session.execute(delete(RevokedAccess).where(RevokedAccess.revoked_at <= moment))
