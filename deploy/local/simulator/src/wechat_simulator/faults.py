"""Injected failures and call counting, in front of every simulated WeChat path."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from wechat_simulator.errcodes import ERRMSG
from wechat_simulator.state import SimState


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
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, payload: Mapping[str, object]) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
