"""Injected failures and call counting, in front of every simulated WeChat path."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wechat_simulator.errcodes import ERRMSG
from wechat_simulator.state import Fault, SimState

_SIGNATURE_HEADERS = (b"wechatpay-signature", b"wechatpay-timestamp", b"wechatpay-nonce", b"wechatpay-serial")


@dataclass
class AnswerFault(Fault):
    """A fault that lets the call through and then tampers with WeChat Pay's signed answer.

    ``unsigned`` strips the ``Wechatpay-*`` headers; ``forged`` keeps the genuine
    signature headers over a body changed by ``answer_patch`` (merged into the
    JSON answer), or, without a patch, replaces the signature.
    """

    answer: Literal["unsigned", "forged"] | None = None
    answer_patch: dict[str, Any] | None = None


class DroppedConnection(Exception):
    """Raised after the response has started, so the server cuts the connection mid-answer."""


class FaultMiddleware:
    """Counts calls per path and applies the next matching fault (``/sim`` is never faulted)."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/sim") or path == "/healthz":
            await self.app(scope, receive, send)
            return
        self.state.counters.api_calls[path] += 1
        fault = self.state.take_fault(path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.drop_connection:
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
            )
            raise DroppedConnection(path)
        if fault.http_status is not None:
            payload: dict[str, object]
            if path.startswith("/v3/"):
                payload = {"code": "SYSTEM_ERROR", "message": "系统错误"}
            else:
                payload = {"errcode": -1, "errmsg": ERRMSG[-1]}
            await _answer(send, fault.http_status, payload)
            return
        if fault.errcode is not None:
            await _answer(send, 200, {"errcode": fault.errcode, "errmsg": ERRMSG.get(fault.errcode, "error")})
            return
        if isinstance(fault, AnswerFault) and fault.answer is not None:
            await self.app(scope, receive, _tampering(send, fault))
            return
        await self.app(scope, receive, send)


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in patch.items():
        current = merged.get(name)
        merged[name] = _merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return merged


def _tampering(send: Send, fault: AnswerFault) -> Send:
    """A ``send`` that rewrites the (buffered) answer as ``fault.answer`` says."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def tampered(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        if fault.answer_patch:
            try:
                original = json.loads(body) if body else {}
            except ValueError:
                original = {}
            body = json.dumps(_merge(original if isinstance(original, dict) else {}, fault.answer_patch),
                              ensure_ascii=False).encode()
        headers = [(name, value) for name, value in start.get("headers", []) if name.lower() != b"content-length"]
        if fault.answer == "unsigned":
            headers = [(name, value) for name, value in headers if name.lower() not in _SIGNATURE_HEADERS]
        elif not fault.answer_patch:
            # Forged without a new body: a signature that is not the platform's.
            headers = [
                (name, b"Zm9yZ2Vk" + value[8:] if name.lower() == b"wechatpay-signature" else value)
                for name, value in headers
            ]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return tampered


async def _answer(send: Send, status: int, payload: Mapping[str, object]) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
