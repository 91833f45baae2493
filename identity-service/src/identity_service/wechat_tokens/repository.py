"""SQL of the access-token cache."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.wechat_tokens.models import AccessToken


async def get(session: AsyncSession, appid: str) -> AccessToken | None:
    """The cached token of ``appid`` as committed right now."""
    return await session.scalar(
        select(AccessToken).where(AccessToken.appid == appid).execution_options(populate_existing=True)
    )


async def store(session: AsyncSession, *, appid: str, access_token: str, expires_at: datetime) -> AccessToken:
    """Replace the cached token of ``appid``."""
    values = insert(AccessToken).values(appid=appid, access_token=access_token, expires_at=expires_at)
    stmt = values.on_conflict_do_update(
        index_elements=["appid"],
        set_={
            "access_token": values.excluded.access_token,
            "expires_at": values.excluded.expires_at,
            "refreshed_at": values.excluded.refreshed_at,
            "refresh_count": AccessToken.refresh_count + 1,
        },
    ).returning(AccessToken)
    row: AccessToken = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
    return row
