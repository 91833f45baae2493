"""WeChat's identity endpoints: login, tokens, user info, phone numbers, QR codes."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from shared.wechat.miniprogram import watermark
from wechat_simulator import tokens
from wechat_simulator.context import Sim, SimDep
from wechat_simulator.errcodes import wx_error, wx_ok
from wechat_simulator.png import code_png
from wechat_simulator.state import App, QrTicket

router = APIRouter()

_SCENE_CHARS = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]*$")
_TEMPORARY = {"QR_SCENE", "QR_STR_SCENE"}
_PERMANENT = {"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}
MAX_TEMPORARY_SECONDS = 2_592_000


async def json_body(request: Request) -> dict[str, Any] | JSONResponse:
    """The JSON object posted to a WeChat API, or the errcode WeChat answers for a bad body."""
    return parse_body(await request.body())


def parse_body(raw: bytes) -> dict[str, Any] | JSONResponse:
    """:func:`json_body` on the raw bytes."""
    if not raw.strip():
        return wx_error(44002)
    try:
        data = json.loads(raw)
    except ValueError:
        return wx_error(47001)
    return data if isinstance(data, dict) else wx_error(47001)


async def authorized_body(
    request: Request, sim: Sim, apps: tuple[App, ...]
) -> tuple[App, dict[str, Any]] | JSONResponse:
    """The calling app and posted JSON of an access-token API, or WeChat's errcode (the token is checked first)."""
    auth = tokens.authorize(sim.state, sim.settings, request, apps)
    if isinstance(auth, JSONResponse):
        return auth
    body = await json_body(request)
    if isinstance(body, JSONResponse):
        return body
    return auth[1], body


@router.get("/sns/jscode2session")
async def jscode2session(request: Request, sim: SimDep) -> JSONResponse:
    """Exchange a login code for openid, session_key and (if bound) unionid."""
    q, s, state = request.query_params, sim.settings, sim.state
    state.counters.jscode2session_calls += 1
    appid, code = q.get("appid"), q.get("js_code")
    bad = tokens.check_credentials(s, appid, q.get("secret"))
    if bad is not None:
        return bad
    if appid != s.mp_appid:
        return wx_error(40013)
    if q.get("grant_type") != "authorization_code":
        return wx_error(40002)
    if not code:
        return wx_error(41008)
    async with state.lock:
        record = state.login_codes.get(code)
        now = state.now()
        if record is None or now - record.created_at > s.code_ttl_seconds:
            return wx_error(40029)
        person = state.people[record.person_id]
        while person.logins and now - person.logins[0] > 60:
            person.logins.popleft()
        if len(person.logins) >= s.login_rate_per_minute:
            return wx_error(45011)
        if record.used:
            return wx_error(40163)
        record.used = True
        person.logins.append(now)
    answer: dict[str, Any] = {"session_key": record.session_key, "openid": person.mp_openid}
    if person.unionid:
        answer["unionid"] = person.unionid
    return JSONResponse(answer)


def _token_quota(sim: Sim, appid: str) -> JSONResponse | None:
    day = int(sim.state.now() // 86400)
    sim.state.token_days[(appid, day)] += 1
    if sim.state.token_days[(appid, day)] > sim.settings.token_daily_limit:
        return wx_error(45009)
    return None


@router.get("/cgi-bin/token")
async def get_token(request: Request, sim: SimDep) -> JSONResponse:
    """A new access token; the previous one stays valid for 5 minutes."""
    q = request.query_params
    appid = q.get("appid") or ""
    sim.state.counters.token_calls[appid] += 1
    if q.get("grant_type") != "client_credential":
        return wx_error(40002)
    bad = tokens.check_credentials(sim.settings, appid, q.get("secret")) or _token_quota(sim, appid)
    if bad is not None:
        return bad
    async with sim.state.lock:
        token = tokens.issue(sim.state, sim.settings, appid, "token")
    return JSONResponse({"access_token": token.value, "expires_in": sim.settings.token_ttl_seconds})


@router.post("/cgi-bin/stable_token")
async def get_stable_token(request: Request, sim: SimDep) -> JSONResponse:
    """The stable token: the same token while valid, unless force_refresh (rate-limited)."""
    body = await json_body(request)
    if isinstance(body, JSONResponse):
        return body
    appid = str(body.get("appid") or "")
    sim.state.counters.stable_token_calls[appid] += 1
    if body.get("grant_type") != "client_credential":
        return wx_error(40002)
    bad = tokens.check_credentials(sim.settings, appid, body.get("secret"))
    if bad is not None:
        return bad
    state, now = sim.state, sim.state.now()
    async with state.lock:
        token = tokens.current(state, appid, "stable")
        if body.get("force_refresh") is True:
            history = [t for t in state.force_refreshes[appid] if now - t < 86400]
            state.force_refreshes[appid] = history
            if history and now - history[-1] < sim.settings.stable_force_refresh_interval_seconds:
                return wx_error(45011)
            if len(history) >= sim.settings.stable_force_refresh_daily_limit:
                return wx_error(45009)
            history.append(now)
            token = None
        if token is None:
            token = tokens.issue(state, sim.settings, appid, "stable")
    return JSONResponse({"access_token": token.value, "expires_in": max(1, int(token.expires_at - now))})


@router.get("/cgi-bin/user/info")
async def user_info(request: Request, sim: SimDep) -> JSONResponse:
    """A service-account user's follow state (nothing but openid for non-followers)."""
    auth = tokens.authorize(sim.state, sim.settings, request, ("oa",))
    if isinstance(auth, JSONResponse):
        return auth
    openid = request.query_params.get("openid") or ""
    person = sim.state.person_by_openid(openid, "oa")
    if person is None:
        return wx_error(40003)
    if not person.following:
        return JSONResponse({"subscribe": 0, "openid": openid})
    info: dict[str, Any] = {
        "subscribe": 1,
        "openid": openid,
        "language": "zh_CN",
        "subscribe_time": person.subscribe_time,
        "remark": "",
        "groupid": 0,
        "tagid_list": [],
        "subscribe_scene": person.subscribe_scene,
        "qr_scene": person.qr_scene,
        "qr_scene_str": person.qr_scene_str,
    }
    if person.unionid:
        info["unionid"] = person.unionid
    return JSONResponse(info)


@router.post("/wxa/business/getuserphonenumber")
async def get_phone_number(request: Request, sim: SimDep) -> JSONResponse:
    """Exchange a phone button code for the user's phone number."""
    sim.state.counters.phone_calls += 1
    call = await authorized_body(request, sim, ("mp",))
    if isinstance(call, JSONResponse):
        return call
    _, body = call
    record = sim.state.phone_codes.get(str(body.get("code") or ""))
    if record is None or record.used or sim.state.now() - record.created_at > sim.settings.code_ttl_seconds:
        return wx_error(40029)
    record.used = True
    pure = record.phone or ""
    full = pure if record.country_code == "86" else f"+{record.country_code} {pure}"
    # countryCode is a number here and a string in legacy encryptedData, as observed in the wild.
    code_value: int | str = int(record.country_code) if record.country_code.isdigit() else record.country_code
    phone_info = {
        "phoneNumber": full,
        "purePhoneNumber": pure,
        "countryCode": code_value,
        "watermark": watermark(sim.settings.mp_appid, int(sim.state.now())),
    }
    return wx_ok(phone_info=phone_info)


def _scene_of(action_name: str, scene: Any) -> str | None:
    """The scene as a string if it is valid for ``action_name``, else None."""
    if not isinstance(scene, dict):
        return None
    if action_name.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        return value if isinstance(value, str) and 1 <= len(value) <= 64 else None
    value = scene.get("scene_id")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    upper = 100_000 if action_name == "QR_LIMIT_SCENE" else 2**32 - 1
    return str(value) if 1 <= value <= upper else None


@router.post("/cgi-bin/qrcode/create")
async def create_qrcode(request: Request, sim: SimDep) -> JSONResponse:
    """A temporary or permanent scene QR code of the service account."""
    call = await authorized_body(request, sim, ("oa",))
    if isinstance(call, JSONResponse):
        return call
    _, body = call
    action = str(body.get("action_name") or "")
    if action not in _TEMPORARY | _PERMANENT:
        return wx_error(40097)
    info = body.get("action_info")
    scene = _scene_of(action, info.get("scene") if isinstance(info, dict) else None)
    if scene is None:
        return wx_error(40097)
    state = sim.state
    if action in _PERMANENT:
        for existing in state.qr_tickets.values():
            if existing.action_name == action and existing.scene == scene:
                return JSONResponse({"ticket": existing.ticket, "url": _qr_url(existing.ticket)})
        ticket = mint_ticket(sim, action, scene, None)
        return JSONResponse({"ticket": ticket.ticket, "url": _qr_url(ticket.ticket)})
    expire = body.get("expire_seconds", 60)
    if isinstance(expire, bool) or not isinstance(expire, int) or expire < 1:
        return wx_error(40097)
    # Longer than 30 days is capped rather than refused (unconfirmed; the docs only give the maximum).
    expire = min(expire, MAX_TEMPORARY_SECONDS)
    ticket = mint_ticket(sim, action, scene, state.now() + expire)
    return JSONResponse({"ticket": ticket.ticket, "expire_seconds": expire, "url": _qr_url(ticket.ticket)})


def mint_ticket(sim: Sim, action: str, scene: str, expires_at: float | None) -> QrTicket:
    """Record a new QR ticket for ``scene``."""
    ticket = QrTicket(
        ticket="gQ" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "B") + "==",
        action_name=action,
        scene=scene,
        expires_at=expires_at,
    )
    sim.state.qr_tickets[ticket.ticket] = ticket
    return ticket


def ticket_for_scene(sim: Sim, scene: str) -> str:
    """The newest valid ticket created for ``scene``, or a fresh one (a code made elsewhere)."""
    now = sim.state.now()
    for ticket in reversed(list(sim.state.qr_tickets.values())):
        if ticket.scene == scene and (ticket.expires_at is None or ticket.expires_at > now):
            return ticket.ticket
    return mint_ticket(sim, "QR_STR_SCENE", scene, now + MAX_TEMPORARY_SECONDS).ticket


def _qr_url(ticket: str) -> str:
    return "http://weixin.qq.com/q/" + ticket[2:24]


@router.post("/wxa/getwxacodeunlimit")
async def get_wxacode_unlimit(request: Request, sim: SimDep) -> Response:
    """A mini-program code image for a scene (≤ 32 characters); errors come back as JSON."""
    call = await authorized_body(request, sim, ("mp",))
    if isinstance(call, JSONResponse):
        return call
    _, body = call
    scene = body.get("scene")
    if not isinstance(scene, str) or not 1 <= len(scene) <= 32 or not _SCENE_CHARS.match(scene):
        return wx_error(40169)
    page = body.get("page") or ""
    if not isinstance(page, str) or page.startswith("/"):
        return wx_error(41030, "invalid page")
    if body.get("env_version", "release") not in ("release", "trial", "develop"):
        return wx_error(40097)
    width = body.get("width", 430)
    if isinstance(width, bool) or not isinstance(width, int):
        return wx_error(40097)
    return Response(code_png({"scene": scene, "page": page}), media_type="image/png")
