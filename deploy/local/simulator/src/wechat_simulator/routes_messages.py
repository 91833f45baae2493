"""WeChat's message APIs: subscribe, template and customer-service sends, with their quotas."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from wechat_simulator import pushes, tokens, windows
from wechat_simulator.context import Sim, SimDep
from wechat_simulator.errcodes import wx_error, wx_ok
from wechat_simulator.routes_wechat import authorized_body, parse_body
from wechat_simulator.state import App, Person, SentMessage

router = APIRouter()

# Subscribe-message keyword limits (characters), by keyword type.
_KEYWORD_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 20,
    "phrase": 5,
    "time": 64,
    "date": 64,
    "amount": 32,
}
_KEYWORD = re.compile(r"^([a-z_]+?)(\d+)$")
TEMPLATE_FIELD_LIMIT = 20
# Template messages per service account per day (WeChat's default; larger accounts get more): then 45009.
TEMPLATE_DAILY_LIMIT = 100_000
CLIENT_MSG_ID_SECONDS = 600
CUSTOM_MSGTYPES = {
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
    "link",
}


class TemplateDefinition(BaseModel):
    """A template as added in the WeChat admin console (content with ``{{thing1.DATA}}`` placeholders)."""

    title: str = Field(min_length=1)
    content: str = Field(min_length=1)
    example: str = ""
    # Mini-program: 2 one-time, 3 long-term.
    type: int = Field(2, ge=2, le=3)


_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+?\d*)\.DATA\s*\}\}")


def _template_keys(state: Any, app: App, template_id: str) -> dict[str, str] | None:
    """key → type of a catalogued template (None when it was only registered by id)."""
    entry = state.template_catalog[app].get(template_id)
    if entry is None:
        return None
    keys: dict[str, str] = {}
    for key in _PLACEHOLDER.findall(entry["content"]):
        match = _KEYWORD.match(key)
        keys[key] = match.group(1) if match else key
    return keys


@router.put("/sim/templates/{app}/{template_id}")
async def define_template(app: App, template_id: str, body: TemplateDefinition, sim: SimDep) -> dict[str, Any]:
    """Add (or change) a template of an app, listed by the template APIs and accepted by the send APIs."""
    sim.state.template_catalog[app][template_id] = body.model_dump()
    sim.state.known_templates[app].add(template_id)
    return {"app": app, "template_id": template_id, **body.model_dump()}


@router.delete("/sim/templates/{app}/{template_id}")
async def delete_template(app: App, template_id: str, sim: SimDep) -> dict[str, Any]:
    """Remove a template in the admin console: no longer listed, later sends answer 40037."""
    listed = sim.state.template_catalog[app].pop(template_id, None) is not None
    if not listed and template_id not in sim.state.known_templates[app]:
        raise HTTPException(404, f"no template {template_id}")
    sim.state.known_templates[app].discard(template_id)
    return {"app": app, "template_id": template_id, "removed": True}


@router.get("/wxaapi/newtmpl/gettemplate")
async def list_subscribe_templates(request: Request, sim: SimDep) -> JSONResponse:
    """The mini-program's subscribe templates (``priTmplId``, ``content``, ``type``)."""
    auth = tokens.authorize(sim.state, sim.settings, request, ("mp",))
    if isinstance(auth, JSONResponse):
        return auth
    data = [
        {"priTmplId": template_id, "title": t["title"], "content": t["content"], "example": t["example"],
         "type": t["type"]}
        for template_id, t in sim.state.template_catalog["mp"].items()
    ]
    return wx_ok(data=data)


@router.get("/cgi-bin/template/get_all_private_template")
async def list_oa_templates(request: Request, sim: SimDep) -> JSONResponse:
    """The service account's templates (``template_id``, ``content``; answered without errcode, like WeChat)."""
    auth = tokens.authorize(sim.state, sim.settings, request, ("oa",))
    if isinstance(auth, JSONResponse):
        return auth
    template_list = [
        {"template_id": template_id, "title": t["title"], "primary_industry": "教育", "deputy_industry": "培训",
         "content": t["content"], "example": t["example"]}
        for template_id, t in sim.state.template_catalog["oa"].items()
    ]
    return JSONResponse({"template_list": template_list})


def _fields_error(keys: dict[str, str] | None, data: dict[str, Any]) -> str | None:
    """A catalogued template needs exactly its keys (WeChat answers 47003 otherwise)."""
    if keys is None:
        return None
    if set(data) != set(keys):
        return "argument invalid! data keys do not match the template"
    return None


def _subscribe_data_error(data: Any) -> str | None:
    """Why ``data`` does not fit the keyword rules, or None."""
    if not isinstance(data, dict) or not data:
        return "data is empty"
    for key, item in data.items():
        match = _KEYWORD.match(key)
        if match is None or not isinstance(item, dict) or not isinstance(item.get("value"), str):
            return f"data.{key} invalid"
        limit = _KEYWORD_LIMITS.get(match.group(1))
        if limit is None or not item["value"] or len(item["value"]) > limit:
            return f"argument invalid! data.{key}.value invalid"
    return None


def _deliver_later(sim: Sim, app: App, message: dict[str, Any]) -> None:
    # WeChat reports send results asynchronously, after the API has answered.
    sim.state.spawn(sim.delivery.push(app, message))


@router.post("/cgi-bin/message/subscribe/send")
async def send_subscribe(request: Request, sim: SimDep) -> JSONResponse:
    """Send a subscribe message: one accepted credit of the template per send."""
    call = await authorized_body(request, sim, ("mp",))
    if isinstance(call, JSONResponse):
        return call
    _, body = call
    state = sim.state
    person = state.person_by_openid(str(body.get("touser") or ""), "mp")
    if person is None:
        return wx_error(40003)
    template_id = str(body.get("template_id") or "")
    if template_id not in state.known_templates["mp"] | set(sim.settings.subscribe_templates):
        return wx_error(40037)
    problem = _subscribe_data_error(body.get("data"))
    if problem is None:
        problem = _fields_error(_template_keys(state, "mp", template_id), body.get("data") or {})
    if problem is not None:
        return wx_error(47003, problem)
    page = body.get("page")
    if page is not None and (not isinstance(page, str) or page.startswith("/")):
        return wx_error(41030, "invalid page")
    async with state.lock:
        key = (person.mp_openid, template_id)
        if state.credits[key] <= 0:
            return wx_error(43101)
        state.credits[key] -= 1
        msgid = state.next_msgid()
        state.record_sent(SentMessage("subscribe", person.mp_openid, template_id, msgid, body, state.now()))
    item = {"TemplateId": template_id, "MsgID": msgid, "ErrorCode": 0, "ErrorStatus": "success"}
    fmt = sim.delivery.default_format("mp")
    _deliver_later(
        sim, "mp", pushes.list_event(sim.settings, state, person, "subscribe_msg_sent_event", [item], fmt)
    )
    return wx_ok(msgid=msgid)


def _cut_template_data(data: dict[str, Any]) -> dict[str, Any]:
    """Apply the 2023 rules: no newlines, each field cut to 20 characters, silently."""
    cut: dict[str, Any] = {}
    for key, item in data.items():
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            value = item["value"].replace("\r", "").replace("\n", "")[:TEMPLATE_FIELD_LIMIT]
            cut[key] = {"value": value}
        else:
            cut[key] = item
    return cut


@router.post("/cgi-bin/message/template/send")
async def send_template(request: Request, sim: SimDep) -> JSONResponse:
    """Send a service-account template message to a follower; the result comes as a push."""
    call = await authorized_body(request, sim, ("oa",))
    if isinstance(call, JSONResponse):
        return call
    _, body = call
    state = sim.state
    person = state.person_by_openid(str(body.get("touser") or ""), "oa")
    if person is None:
        return wx_error(40003)
    template_id = str(body.get("template_id") or "")
    known = state.known_templates["oa"] | set(sim.settings.oa_templates)
    if not template_id or (known and template_id not in known):
        return wx_error(40037)
    if not person.following:
        return wx_error(43004)
    data = body.get("data")
    if not isinstance(data, dict):
        return wx_error(47003, "argument invalid! data invalid")
    problem = _fields_error(_template_keys(state, "oa", template_id), data)
    if problem is not None:
        return wx_error(47003, problem)
    async with state.lock:
        now = state.now()
        client_msg_id = body.get("client_msg_id")
        dedupe_key = (person.oa_openid, str(client_msg_id)) if client_msg_id else None
        if dedupe_key and dedupe_key in state.template_client_ids:
            msgid, at = state.template_client_ids[dedupe_key]
            if now - at < CLIENT_MSG_ID_SECONDS:
                # Same client_msg_id within 10 minutes: not sent again (answer shape unconfirmed).
                return wx_ok(msgid=msgid)
        day = int(now // 86400)
        if state.template_days[day] >= TEMPLATE_DAILY_LIMIT:
            return wx_error(45009)
        state.template_days[day] += 1
        msgid = state.next_msgid()
        if dedupe_key:
            state.template_client_ids[dedupe_key] = (msgid, now)
        delivered = {**body, "data": _cut_template_data(data)}
        state.record_sent(SentMessage("template", person.oa_openid, template_id, msgid, delivered, now))
    finished = pushes.event(
        sim.settings, state, person, "oa", "TEMPLATESENDJOBFINISH", MsgID=msgid, Status="success"
    )
    _deliver_later(sim, "oa", finished)
    return wx_ok(msgid=msgid)


@router.post("/cgi-bin/message/custom/send")
async def send_custom(request: Request, sim: SimDep) -> JSONResponse:
    """Send a customer-service message inside the window the user's last interaction opened."""
    return await custom_send(sim, request.query_params.get("access_token"), await request.body())


async def custom_send(sim: Sim, access_token: str | None, raw: bytes) -> JSONResponse:
    """The customer-service send on a token value and the raw body (the route's, and the ASGI fast path's)."""
    auth = tokens.authorize_value(sim.state, sim.settings, access_token, ("oa", "mp"))
    if isinstance(auth, JSONResponse):
        return auth
    body = parse_body(raw)
    if isinstance(body, JSONResponse):
        return body
    app = auth[1]
    state = sim.state
    person: Person | None = state.person_by_openid(str(body.get("touser") or ""), app)
    if person is None:
        return wx_error(40003)
    msgtype = body.get("msgtype")
    if msgtype not in CUSTOM_MSGTYPES or not isinstance(body.get(msgtype), dict):
        return wx_error(40008)
    async with state.lock:
        errcode = windows.consume(person, app, state.now())
        if errcode:
            return wx_error(errcode)
        touser = person.oa_openid if app == "oa" else person.mp_openid
        state.record_sent(SentMessage("custom", touser, None, None, body, state.now()))
    return wx_ok()


CUSTOM_SEND_PATH = "/cgi-bin/message/custom/send"


class SendFastPath:
    """POST /cgi-bin/message/custom/send answered without FastAPI's routing and dependencies.

    Test infrastructure: at a thousand sends a second the simulator's routing
    (a linear match over every route), dependency solving and request objects
    cost more than the send itself. Same function, same answers as the route
    (which stays in the OpenAPI); it sits inside the fault middleware, so
    injected faults still apply.
    """

    def __init__(self, app: ASGIApp, sim: Sim) -> None:
        self.app, self.sim = app, sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CUSTOM_SEND_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        token = query.get("access_token")
        response = await custom_send(self.sim, token[0] if token else None, b"".join(chunks))
        await response(scope, receive, send)
