"""Calling WeChat: bounded retries on "system busy", and WeChat errors as problems."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from shared.errors import (
    Forbidden,
    Invalid,
    ServiceError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UpstreamError,
)
from shared.wechat.errors import WeChatError

log = structlog.get_logger("identity.wechat")

T = TypeVar("T")

INVALID_CODE = frozenset({40029, 40163})
RATE_LIMITED = 45011
HIGH_RISK_USER = 40226
UNAVAILABLE_RETRY_AFTER = "5"


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int, delay: float) -> T:
    """Run ``call``, retrying only what WeChat says may succeed later (-1, unreachable)."""
    for attempt in range(attempts):
        try:
            return await call()
        except WeChatError as exc:
            if not exc.retryable or attempt + 1 >= attempts:
                raise
            log.info("wechat_retry", errcode=exc.errcode, errmsg=exc.errmsg, attempt=attempt + 1)
            await asyncio.sleep(delay * (2**attempt))
    raise AssertionError("unreachable")


def unavailable() -> Unavailable:
    """WeChat could not be reached or stayed busy after the retries."""
    return Unavailable(
        "微信服务暂时不可用，请稍后再试。",
        slug="wechat-unavailable",
        title="WeChat unavailable",
        headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
    )


def rate_limited(retry_after: int) -> TooManyRequests:
    """WeChat rate-limited this user (45011)."""
    return TooManyRequests(
        "操作过于频繁，请稍后再试。",
        slug="wechat-rate-limited",
        title="Too many requests to WeChat",
        headers={"Retry-After": str(retry_after)},
    )


def login_problem(exc: WeChatError, *, retry_after: int) -> ServiceError:
    """The problem a failed ``jscode2session`` becomes."""
    if exc.errcode in INVALID_CODE:
        return Unauthorized(
            "登录凭证无效或已使用，请重新登录。",
            slug="login-code-invalid",
            title="Login code invalid or already used",
        )
    if exc.errcode == HIGH_RISK_USER:
        return Forbidden(
            "当前微信账号存在风险，暂时无法登录。",
            slug="wechat-user-blocked",
            title="WeChat blocked this user",
        )
    return _common(exc, retry_after=retry_after)


def phone_code_problem(exc: WeChatError, *, retry_after: int) -> ServiceError:
    """The problem a failed ``getuserphonenumber`` becomes."""
    if exc.errcode in INVALID_CODE:
        return Invalid(
            "手机号授权凭证无效或已使用，请重新授权。",
            slug="phone-code-invalid",
            title="Phone code invalid or already used",
        )
    return _common(exc, retry_after=retry_after)


def api_problem(exc: WeChatError, *, retry_after: int) -> ServiceError:
    """The problem any other failed WeChat call becomes."""
    return _common(exc, retry_after=retry_after)


def _common(exc: WeChatError, *, retry_after: int) -> ServiceError:
    if exc.errcode == RATE_LIMITED:
        return rate_limited(retry_after)
    if exc.retryable or exc.needs_new_token:
        # Busy after every retry, or a token that failed again right after a
        # refresh: both are WeChat-side trouble the caller can only wait out.
        return unavailable()
    log.warning("wechat_error", errcode=exc.errcode, errmsg=exc.errmsg)
    return UpstreamError(
        "微信接口返回错误，请稍后再试。",
        slug="wechat-error",
        title="WeChat API error",
        extra={"errcode": exc.errcode},
    )
