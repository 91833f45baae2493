"""SQL of the template registry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.templates.models import Template


async def list_templates(session: AsyncSession, *, app: str | None = None) -> list[Template]:
    """Templates ordered by app and id."""
    stmt = select(Template).order_by(Template.app, Template.id)
    if app is not None:
        stmt = stmt.where(Template.app == app)
    return list(await session.scalars(stmt))


async def get_template(session: AsyncSession, app: str, template_id: str) -> Template | None:
    """One template of an app by WeChat's id."""
    return await session.scalar(select(Template).where(Template.app == app, Template.template_id == template_id))
