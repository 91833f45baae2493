"""Internal API: the access token of an app, for every service that calls WeChat."""

from fastapi import APIRouter

from identity_service.deps import AccessTokensDep, require_internal
from identity_service.wechat_tokens.schemas import AccessTokenRead, TokenInvalidate
from identity_service.wechat_tokens.service import CachedToken
from shared.fields import TextPath

internal_router = APIRouter(
    prefix="/internal/wechat/token", tags=["internal"], dependencies=[require_internal]
)


def _read(token: CachedToken) -> AccessTokenRead:
    return AccessTokenRead(access_token=token.access_token, expires_at=token.expires_at)


@internal_router.get("/{appid}")
async def get_token(appid: TextPath, tokens: AccessTokensDep) -> AccessTokenRead:
    """The current access token of ``appid`` (refreshed ahead of expiry, one refresh for all replicas)."""
    return _read(await tokens.current(appid))


@internal_router.post("/{appid}/invalidate")
async def invalidate_token(appid: TextPath, body: TokenInvalidate, tokens: AccessTokensDep) -> AccessTokenRead:
    """Report a rejected token: refreshed once if it is still the current one; returns the current token."""
    return _read(await tokens.invalidate(appid, body.access_token))
