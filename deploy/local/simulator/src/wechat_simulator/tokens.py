"""Access tokens: issue, replace with a grace period, validate."""

from __future__ import annotations

import secrets
from typing import Literal

from fastapi import Request
from fastapi.responses import JSONResponse

from wechat_simulator.config import SimulatorSettings
from wechat_simulator.errcodes import wx_error
from wechat_simulator.state import App, SimState, Token

Source = Literal["token", "stable"]


def app_secrets(settings: SimulatorSettings) -> dict[str, str]:
    """The apps this simulator knows, appid → secret."""
    return {
        settings.mp_appid: settings.mp_secret.get_secret_value(),
        settings.oa_appid: settings.oa_secret.get_secret_value(),
    }


def app_of(settings: SimulatorSettings, appid: str) -> App | None:
    """Which of our apps ``appid`` is."""
    apps: dict[str, App] = {settings.mp_appid: "mp", settings.oa_appid: "oa"}
    return apps.get(appid)


def check_credentials(
    settings: SimulatorSettings, appid: str | None, secret: str | None
) -> JSONResponse | None:
    """The errcode for bad app credentials, or None when they are right."""
    if not appid:
        return wx_error(41002)
    if not secret:
        return wx_error(41004)
    known = app_secrets(settings)
    if appid not in known:
        return wx_error(40013)
    if not secrets.compare_digest(known[appid], secret):
        return wx_error(40125)
    return None


def issue(state: SimState, settings: SimulatorSettings, appid: str, source: Source) -> Token:
    """A new token for ``appid``; the one it replaces stays valid for the grace period."""
    now = state.now()
    previous = state.current_tokens.get((appid, source))
    if previous and previous in state.tokens:
        old = state.tokens[previous]
        old.replaced_at = now
        old.expires_at = min(old.expires_at, now + settings.old_token_grace_seconds)
    token = Token(
        value=secrets.token_urlsafe(96),
        appid=appid,
        source=source,
        issued_at=now,
        expires_at=now + settings.token_ttl_seconds,
    )
    state.tokens[token.value] = token
    state.current_tokens[(appid, source)] = token.value
    return token


def current(state: SimState, appid: str, source: Source) -> Token | None:
    """The current token of ``appid`` from ``source`` while it is still valid."""
    value = state.current_tokens.get((appid, source))
    token = state.tokens.get(value) if value else None
    if token and state.now() < token.expires_at:
        return token
    return None


def expire(state: SimState, appid: str | None = None) -> int:
    """Make every token (of ``appid``) expired now; returns how many."""
    now = state.now()
    count = 0
    for token in state.tokens.values():
        if (appid is None or token.appid == appid) and token.expires_at > now:
            token.expires_at = now
            count += 1
    return count


def authorize(
    state: SimState, settings: SimulatorSettings, request: Request, apps: tuple[App, ...]
) -> tuple[Token, App] | JSONResponse:
    """Validate ``?access_token=`` for an API of one of ``apps``; an errcode answer otherwise."""
    return authorize_value(state, settings, request.query_params.get("access_token"), apps)


def authorize_value(
    state: SimState, settings: SimulatorSettings, value: str | None, apps: tuple[App, ...]
) -> tuple[Token, App] | JSONResponse:
    """:func:`authorize` on the token's value (the send fast path has no Request)."""
    if not value:
        return wx_error(41001)
    token = state.tokens.get(value)
    if token is None:
        return wx_error(40001)
    if state.now() >= token.expires_at:
        # A token replaced more than the grace period ago is "not latest", not "expired".
        return wx_error(40001 if token.replaced_at is not None else 42001)
    app = app_of(settings, token.appid)
    if app is None or app not in apps:
        return wx_error(48001, "api unauthorized")
    return token, app
