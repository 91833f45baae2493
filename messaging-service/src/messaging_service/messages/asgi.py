"""``POST /internal/messages`` answered below FastAPI's routing, dependencies and response model (the send hot path).

Profiled at several hundred sends a second, FastAPI's layers between the
middleware and the endpoint (matching the path against every route, solving
the dependencies, validating the answer against the response model again and
encoding it) cost about a fifth of messaging's CPU per send, as much as the
send's own statement. This answers the plain case only: a valid internal
token, a body that validates without ``send_at``, a fresh ``Idempotency-Key``
and a purpose the driver-pool path takes (:func:`router._send_fast`, the same
function the route calls). Anything else is handed to the app with the body
replayed, before anything was written, so every other answer (401, 422, an
idempotent repeat, the ORM path, quiet hours) stays the route's, and the route
stays in the OpenAPI. The access log and metrics middleware still wraps it.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messaging_service.messages.router import _send_fast
from messaging_service.messages.schemas import MessageCreate
from shared.errors import ServiceError, problem_response
from shared.observability import ROUTE_LABEL_KEY

log = structlog.get_logger("messaging.asgi")

PATH = "/internal/messages"
MAX_KEY_LENGTH = 200  # as the route's Idempotency-Key header


class SendFastPath:
    """Inner ASGI middleware: the plain internal send, or the app."""

    def __init__(self, app: ASGIApp, *, service_app: FastAPI) -> None:
        self.app = app
        self.service_app = service_app
        # How requests went: answered here or handed to the route (tests read it).
        self.answered = 0
        self.handed_on = 0
        service_app.state.send_fast_path = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: the app handles it as ever
                first = message
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        try:
            answer = None if first is not None else await self._answer(scope, raw)
        except ServiceError as exc:  # a typed error below the routing: the problem+json the app's handler writes
            await problem_response(exc.status, slug=exc.slug, title=exc.title, detail=exc.detail, errors=exc.errors,
                                   extra=exc.extra, headers=exc.headers)(scope, _replay(raw, first, receive), send)
            return
        if answer is None:
            self.handed_on += 1
            await self.app(scope, _replay(raw, first, receive), send)
            return
        self.answered += 1
        scope[ROUTE_LABEL_KEY] = PATH
        await send({"type": "http.response.start", "status": 201, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, scope: Scope, raw: bytes) -> bytes | None:
        """The answer's JSON when the plain path took the send; None before anything was written otherwise."""
        runtime = getattr(self.service_app.state, "runtime", None)
        if runtime is None or runtime.extras.get("fast") is None:
            return None
        authorization = key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"idempotency-key":
                key = value
        if authorization is None or key is None:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        idempotency_key = key.decode("latin-1")
        if (scheme.lower() != "bearer" or not token.strip() or not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH
                or "\x00" in idempotency_key):
            return None
        try:
            caller = runtime.tokens.verify_internal(token.strip(), audience=runtime.settings.service_name)
            body = MessageCreate.model_validate_json(raw)
        except Exception:  # an invalid token or body: the route answers (401, 422) as it always has
            return None
        if body.send_at is not None:
            return None
        read = await _send_fast(runtime, runtime.extras["clock"], body, source=f"internal:{caller.caller}",
                                key=idempotency_key)
        return None if read is None else read.__pydantic_serializer__.to_json(read)


def _replay(raw: bytes, first: Message | None, receive: Receive) -> Receive:
    """A receive that gives the body read so far once, then the client's own messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first if first is not None else {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replayed
