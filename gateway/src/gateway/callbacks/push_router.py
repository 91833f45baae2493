"""Push URLs: ``/wechat/oa/{appid}`` (service account) and ``/wechat/mp/{appid}`` (mini-program).

Each accepted push is recorded for dedupe and its ``wechat.inbound`` event
written to the outbox in one statement, committed before the answer, so it
survives a broker outage and a WeChat retry publishes nothing new.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from gateway.callbacks import repository
from gateway.callbacks.apps import PushApp
from gateway.callbacks.normalize import normalize
from gateway.callbacks.replies import ReplyRules
from gateway.callbacks.verification import PushQuery, check_fresh, check_query_signature, decrypt_body
from shared.contracts.gateway import MessageReceived
from shared.errors import BadRequest, NotFound, PayloadTooLarge
from shared.events.outbox import outbox_row
from shared.wechat.errors import MalformedPush
from shared.wechat.push import parse_json_push, sniff_format
from shared.wechat.xml import parse_xml, text_reply

router = APIRouter(prefix="/wechat", tags=["wechat"], include_in_schema=False)

MAX_PUSH_BYTES = 64 * 1024
SUCCESS = PlainTextResponse("success")


def _app(request: Request, kind: str, appid: str) -> PushApp:
    app = request.app.state.runtime.extras["push_apps"].get((kind, appid))
    if app is None:
        raise NotFound("未知的公众号或小程序。", slug="unknown-app")
    return app


def _query(request: Request) -> PushQuery:
    params = request.query_params
    return PushQuery(
        signature=params.get("signature"), timestamp=params.get("timestamp"), nonce=params.get("nonce"),
        encrypt_type=params.get("encrypt_type"), msg_signature=params.get("msg_signature"),
        echostr=params.get("echostr"),
    )


async def verify_url(request: Request, kind: str, appid: str) -> Response:
    """URL check: echo ``echostr`` when the signature is valid."""
    app = _app(request, kind, appid)
    query = _query(request)
    check_fresh(query.timestamp)
    if query.encrypted and query.msg_signature:
        echo = decrypt_body(query, app.crypto, query.echostr).decode()
    else:
        check_query_signature(query, app.token)
        echo = query.echostr or ""
    return PlainTextResponse(echo)


def _parse(body: bytes, data_format: str) -> dict[str, Any]:
    try:
        fmt = sniff_format(body) if data_format == "auto" else data_format
        return parse_json_push(body) if fmt == "json" else parse_xml(body)
    except MalformedPush as exc:
        raise BadRequest("推送内容无法解析。", slug="malformed-push", title="Malformed push") from exc


async def receive_push(request: Request, kind: str, appid: str) -> Response:
    """Accept one push: verify, decrypt, dedupe, record, answer."""
    app = _app(request, kind, appid)
    query = _query(request)
    body = await request.body()
    if len(body) > MAX_PUSH_BYTES:
        raise PayloadTooLarge(f"推送内容超过 {MAX_PUSH_BYTES} 字节。")
    check_fresh(query.timestamp)
    if query.signature is not None or not query.encrypted:
        check_query_signature(query, app.token)
    outer = _parse(body, app.data_format)
    if query.encrypted:
        encrypt = outer.get("Encrypt")
        # JSON bodies may carry any type here; only a string can be ciphertext.
        plaintext = decrypt_body(query, app.crypto, encrypt if isinstance(encrypt, str) else None)
        message = _parse(plaintext, app.data_format)
        raw = plaintext.decode("utf-8", "replace")
    else:
        message = outer
        raw = body.decode("utf-8", "replace")
    pushed = normalize(app.kind, app.appid, message, raw)
    runtime = request.app.state.runtime
    event = outbox_row(pushed.event, source="gateway", member_no=None, key=pushed.openid)
    recorded = await repository.record_push(
        runtime.driver_pool, dedupe_key=pushed.dedupe_key, app=app.kind, openid=pushed.openid,
        kind=pushed.kind, event=event, notify=runtime.relay is None,
    )
    if recorded and runtime.relay is not None:
        runtime.relay.wake()
    return _answer(request, app, query, pushed.event, pushed.openid)


def _answer(request: Request, app: PushApp, query: PushQuery, event: Any, openid: str) -> Response:
    if not isinstance(event, MessageReceived) or event.msg_type != "text":
        return SUCCESS
    rules: ReplyRules = request.app.state.runtime.extras["reply_rules"]
    reply = rules.reply_for(app.kind, event.content)
    if reply is None:
        return SUCCESS
    reply_xml = text_reply(openid, app.account_id, reply, int(time.time()))
    if query.encrypted:
        reply_xml = app.crypto.encrypt_reply_xml(reply_xml, str(int(time.time())), query.nonce or "qunyun")
    return Response(reply_xml, media_type="application/xml")


@router.get("/oa/{appid}")
async def oa_verify(request: Request, appid: str) -> Response:
    """Service account URL check."""
    return await verify_url(request, "oa", appid)


@router.post("/oa/{appid}")
async def oa_push(request: Request, appid: str) -> Response:
    """Service account messages and events."""
    return await receive_push(request, "oa", appid)


@router.get("/mp/{appid}")
async def mp_verify(request: Request, appid: str) -> Response:
    """Mini-program URL check."""
    return await verify_url(request, "mp", appid)


@router.post("/mp/{appid}")
async def mp_push(request: Request, appid: str) -> Response:
    """Mini-program message push (subscribe events, customer-service messages)."""
    return await receive_push(request, "mp", appid)
