"""The universe of members tagging knows (one ``member_facts`` row each)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.facts.models import MemberFact
from tagging_service.tags.repository import record_changes


async def ensure_members(session: AsyncSession, member_nos: Sequence[int]) -> list[int]:
    """Create the facts rows of members not known yet; returns the new ones."""
    if not member_nos:
        return []
    stmt = (
        insert(MemberFact).values([{"member_no": m} for m in sorted(set(member_nos))])
        .on_conflict_do_nothing().returning(MemberFact.member_no)
    )
    new = list((await session.execute(stmt)).scalars())
    await record_changes(session, "member", 0, new, True)
    return new
