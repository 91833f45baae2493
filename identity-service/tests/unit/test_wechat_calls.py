"""Bounded retries and the mapping of WeChat errors to problems."""

import pytest

from identity_service.wechat_calls import api_problem, login_problem, phone_code_problem, with_retries
from shared.wechat.errors import WeChatError, WeChatUnavailable


async def test_retries_busy_then_succeeds():
    calls = []

    async def call():
        calls.append(1)
        if len(calls) < 3:
            raise WeChatError(-1, "system busy")
        return "ok"

    assert await with_retries(call, attempts=3, delay=0) == "ok"
    assert len(calls) == 3


async def test_retries_are_bounded_and_only_for_retryable_errors():
    calls = []

    async def unreachable():
        calls.append(1)
        raise WeChatUnavailable("down")

    with pytest.raises(WeChatUnavailable):
        await with_retries(unreachable, attempts=3, delay=0)
    assert len(calls) == 3

    calls.clear()

    async def bad_code():
        calls.append(1)
        raise WeChatError(40029, "invalid code")

    with pytest.raises(WeChatError):
        await with_retries(bad_code, attempts=3, delay=0)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("errcode", "status", "slug"),
    [
        (40029, 401, "login-code-invalid"),
        (40163, 401, "login-code-invalid"),
        (45011, 429, "wechat-rate-limited"),
        (-1, 503, "wechat-unavailable"),
        (40226, 403, "wechat-user-blocked"),
        (40013, 502, "wechat-error"),
    ],
)
def test_login_problems(errcode, status, slug):
    problem = login_problem(WeChatError(errcode, "x"), retry_after=60)
    assert (problem.status, problem.slug) == (status, slug)
    assert problem.title.isascii()
    assert not problem.detail.isascii()  # Chinese for the user
    if status == 429:
        assert problem.headers["Retry-After"] == "60"
    if status == 503:
        assert "Retry-After" in problem.headers


def test_phone_and_api_problems():
    assert phone_code_problem(WeChatError(40029), retry_after=60).status == 422
    assert api_problem(WeChatError(42001), retry_after=60).status == 503
    assert api_problem(WeChatError(40125), retry_after=60).extra == {"errcode": 40125}
