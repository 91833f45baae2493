"""SQL of the auto-reply rules."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.auto_replies.models import AutoReply

MAX_RULES = 500


async def list_rules(session: AsyncSession, *, enabled_only: bool = False) -> list[AutoReply]:
    """Rules ordered by id."""
    stmt = select(AutoReply).order_by(AutoReply.id).limit(MAX_RULES)
    if enabled_only:
        stmt = stmt.where(AutoReply.enabled.is_(True))
    return list(await session.scalars(stmt))


async def get_rule(session: AsyncSession, rule_id: int) -> AutoReply | None:
    """One rule by id."""
    return await session.get(AutoReply, rule_id)


async def find_same(session: AsyncSession, *, keyword: str, match: str, app: str) -> AutoReply | None:
    """A rule with the same keyword, match mode and app."""
    return await session.scalar(
        select(AutoReply).where(AutoReply.keyword == keyword, AutoReply.match == match, AutoReply.app == app)
    )
