"""The single owner of WeChat access tokens.

Every replica reads one cached row per appid. A refresh happens under a
transaction-scoped advisory lock with a re-check after the lock (double-checked
locking), so N replicas asking at once make one ``cgi-bin/token`` call and the
others pick up its result. Inside one process an asyncio lock keeps waiting
callers from each holding a database connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity_service import locks
from identity_service.apps import WeChatApp, WeChatApps
from identity_service.wechat_calls import api_problem, with_retries
from identity_service.wechat_tokens import repository
from identity_service.wechat_tokens.models import AccessToken
from shared.db import unit_of_work
from shared.events.envelope import utcnow
from shared.wechat.api import WeChatApi
from shared.wechat.errors import WeChatError

log = structlog.get_logger("identity.wechat_tokens")

T = TypeVar("T")

# A token this close to its end is not handed out at all: the caller could
# not finish a request with it.
MIN_REMAINING = timedelta(seconds=30)


@dataclass(frozen=True)
class CachedToken:
    """An access token and its expiry."""

    access_token: str
    expires_at: datetime

    @classmethod
    def of(cls, row: AccessToken) -> CachedToken:
        """From the cache row."""
        return cls(access_token=row.access_token, expires_at=row.expires_at)


class AccessTokenService:
    """Obtains, caches, refreshes and invalidates access tokens per appid."""

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        api: WeChatApi,
        apps: WeChatApps,
        margin: timedelta,
        endpoint: str = "token",
        attempts: int = 3,
        retry_delay: float = 0.2,
        retry_after: int = 60,
    ) -> None:
        self.sessions = session_factory
        self.api = api
        self.apps = apps
        self.margin = margin
        self.endpoint = endpoint
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.retry_after = retry_after
        self._local: dict[str, asyncio.Lock] = {}

    async def current(self, appid: str) -> CachedToken:
        """A token valid for at least the refresh margin (or, while one caller refreshes, still valid)."""
        app = self.apps.require(appid)
        async with self.sessions() as session:
            row = await repository.get(session, appid)
        if row is not None:
            cached = CachedToken.of(row)
            if not self._is_stale(row):
                return cached
            if cached.expires_at - MIN_REMAINING > utcnow():
                # Refresh ahead of expiry: one caller refreshes, everyone else keeps
                # using the still-valid token instead of queueing behind the lock.
                fresh = await self._refresh(app, stale=self._is_stale, wait=False)
                return fresh or cached
        fresh = await self._refresh(app, stale=self._is_stale, wait=True)
        assert fresh is not None
        return fresh

    async def invalidate(self, appid: str, access_token: str) -> CachedToken:
        """Drop ``access_token`` if it is still the current one and refresh once; return the current token."""
        app = self.apps.require(appid)

        def stale(row: AccessToken | None) -> bool:
            return self._is_stale(row) or (row is not None and row.access_token == access_token)

        fresh = await self._refresh(app, stale=stale, wait=True, force=True)
        assert fresh is not None
        return fresh

    async def call(self, appid: str, request: Callable[[str], Awaitable[T]]) -> T:
        """Run ``request(access_token)``; on 40001/40014/42001 invalidate, refresh once and retry once."""
        token = await self.current(appid)
        try:
            return await with_retries(
                lambda: request(token.access_token), attempts=self.attempts, delay=self.retry_delay
            )
        except WeChatError as exc:
            if not exc.needs_new_token:
                raise
            log.info("access_token_rejected", appid=appid, errcode=exc.errcode)
        token = await self.invalidate(appid, token.access_token)
        return await with_retries(
            lambda: request(token.access_token), attempts=self.attempts, delay=self.retry_delay
        )

    def _is_stale(self, row: AccessToken | None) -> bool:
        if row is None:
            return True
        # A token issued with less life than twice the margin (stable_token near
        # its end) is refreshed at half-life, not on every request.
        margin = min(self.margin, (row.expires_at - row.refreshed_at) / 2)
        return row.expires_at - margin <= utcnow()

    async def _refresh(
        self,
        app: WeChatApp,
        *,
        stale: Callable[[AccessToken | None], bool],
        wait: bool,
        force: bool = False,
    ) -> CachedToken | None:
        local = self._local.setdefault(app.appid, asyncio.Lock())
        if not wait and local.locked():
            return None
        async with local, unit_of_work(self.sessions) as session:
            if wait:
                await locks.lock(session, ("access-token", app.appid))
            elif not await locks.try_lock(session, "access-token", app.appid):
                return None
            # Re-check under the lock: another replica may have refreshed
            # while we waited, and then its token is the answer.
            row = await repository.get(session, app.appid)
            if not stale(row):
                assert row is not None
                return CachedToken.of(row)
            token, expires_in = await self._fetch(app, force=force)
            row = await repository.store(
                session,
                appid=app.appid,
                access_token=token,
                expires_at=utcnow() + timedelta(seconds=expires_in),
            )
            log.info("access_token_refreshed", appid=app.appid, expires_in=expires_in)
            return CachedToken.of(row)

    async def _fetch(self, app: WeChatApp, *, force: bool) -> tuple[str, int]:
        async def request() -> dict[str, Any]:
            if self.endpoint == "stable":
                return await self.api.get_stable_token(app.appid, app.secret, force_refresh=force)
            return await self.api.get_token(app.appid, app.secret)

        try:
            data = await with_retries(request, attempts=self.attempts, delay=self.retry_delay)
        except WeChatError as exc:
            # 40013 / 40125 / 40164 land here too: retrying cannot fix them.
            log.error("access_token_fetch_failed", appid=app.appid, errcode=exc.errcode, errmsg=exc.errmsg)
            raise api_problem(exc, retry_after=self.retry_after) from exc
        return str(data["access_token"]), int(str(data.get("expires_in", 7200)))
