"""Transaction-scoped PostgreSQL advisory locks (released at commit or rollback)."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def lock_id(*parts: str) -> int:
    """A stable signed 64-bit lock id for a key (a collision only costs extra waiting)."""
    digest = hashlib.blake2b("\x1f".join(("identity", *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock(session: AsyncSession, *keys: tuple[str, ...]) -> None:
    """Wait for the locks of ``keys``, always in one global order so two callers never deadlock."""
    for key in sorted({lock_id(*k) for k in keys}):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def try_lock(session: AsyncSession, *key: str) -> bool:
    """Take the lock of ``key`` if nobody holds it; never waits."""
    got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_id(*key)})
    return bool(got)
