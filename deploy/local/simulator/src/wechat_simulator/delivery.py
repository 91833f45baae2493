"""Delivering pushes and pay notifications to the gateway the way WeChat does.

Pushes: signed query string, plain / compatible / safe mode, XML or JSON (the
mini-program only); no answer within the timeout → retried, 3 attempts in all,
same message. Pay notifications: signed by the platform key; anything but
200/204 is retried in the background on the configured schedule.
Failures are recorded, never raised.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from shared.http import AiohttpTransport
from shared.wechat.callback import CallbackCrypto, sign
from shared.wechat.errors import WeChatCryptoError
from shared.wechat.pay import sign_notification
from shared.wechat.xml import build_xml, parse_xml
from wechat_simulator.config import PushFormat, PushMode, SimulatorSettings
from wechat_simulator.paykeys import PayKeys
from wechat_simulator.state import App, PushRecord, SimState


@dataclass(frozen=True)
class Target:
    """Where and how one app's pushes go."""

    app: App
    url: str
    crypto: CallbackCrypto
    to_user: str


# Pushes in flight at once; more wait in aiohttp's pool (a queue), not in httpcore's (see Delivery.client).
PUSH_CONNECTIONS = 100


class PushTimeout(Exception):
    """The receiver did not answer within the deadline."""


def _nonce() -> str:
    return str(secrets.randbelow(10**10))


class Delivery:
    """Sends pushes and pay notifications; owns its HTTP client."""

    def __init__(
        self,
        settings: SimulatorSettings,
        state: SimState,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        """The HTTP client, created on first use (never at import or app creation).

        Pushes go through aiohttp's pool: with more pushes waiting than
        connections (a gateway answering slower than sends come, as under load),
        httpcore's pool spent CPU on every waiting request at each release (7-12
        ms of the simulator's CPU per template send instead of 2-2.5), and the
        API answers, on the same event loop, took over messaging's 5 s timeout.
        """
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport or AiohttpTransport(max_connections=PUSH_CONNECTIONS), follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST with WeChat's deadline on the whole exchange, not per network read."""
        return await self._post_or_get("POST", url, **kwargs)

    async def _post_or_get(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        timeout = self.settings.push_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                return await self.client().request(method, url, timeout=timeout, **kwargs)
        except TimeoutError as exc:
            raise PushTimeout(f"no answer within {timeout:g} s") from exc

    def target(self, app: App) -> Target:
        """The push URL and crypto of ``app``."""
        s = self.settings
        base = s.gateway_url.rstrip("/")
        if app == "oa":
            crypto = CallbackCrypto(
                s.oa_token.get_secret_value(), s.oa_aes_key.get_secret_value(), s.oa_appid
            )
            return Target("oa", f"{base}/wechat/oa/{s.oa_appid}", crypto, s.oa_original_id)
        crypto = CallbackCrypto(s.mp_token.get_secret_value(), s.mp_aes_key.get_secret_value(), s.mp_appid)
        return Target("mp", f"{base}/wechat/mp/{s.mp_appid}", crypto, s.mp_original_id)

    def default_mode(self, app: App) -> PushMode:
        """The configured security mode of ``app``'s push URL."""
        return self.settings.oa_push_mode if app == "oa" else self.settings.mp_push_mode

    def default_format(self, app: App) -> PushFormat:
        """The configured data format (the service account only speaks XML)."""
        return "xml" if app == "oa" else self.settings.mp_push_format

    def encode(
        self, target: Target, message: dict[str, Any], mode: PushMode, fmt: PushFormat
    ) -> tuple[dict[str, str], bytes, str]:
        """Query parameters, body and content type of one push attempt."""
        # Signatures use the real clock: receivers compare them with theirs, not with simulated time.
        timestamp, nonce = str(int(time.time())), _nonce()
        params = {
            "signature": sign(target.crypto.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": str(message.get("FromUserName", "")),
        }
        inner = build_xml(message) if fmt == "xml" else json.dumps(message, ensure_ascii=False)
        if mode == "plain":
            outer: dict[str, Any] = message
        else:
            encrypt, msg_signature = target.crypto.encrypt(inner.encode(), timestamp, nonce)
            params.update({"encrypt_type": "aes", "msg_signature": msg_signature})
            envelope = {"ToUserName": target.to_user, "Encrypt": encrypt}
            # Compatible mode carries the plaintext fields next to Encrypt.
            outer = {**message, "Encrypt": encrypt} if mode == "compat" else envelope
        if fmt == "xml":
            return params, build_xml(outer).encode(), "text/xml; charset=utf-8"
        return params, json.dumps(outer, ensure_ascii=False).encode(), "application/json"

    async def push(
        self,
        app: App,
        message: dict[str, Any],
        *,
        mode: PushMode | None = None,
        fmt: PushFormat | None = None,
    ) -> PushRecord:
        """Deliver one push with WeChat's timeout and retries; return its record."""
        target = self.target(app)
        mode = mode or self.default_mode(app)
        fmt = fmt or self.default_format(app)
        record = PushRecord(
            id=self.state.next_id(),
            target=app,
            url=target.url,
            message=message,
            mode=mode,
            format=fmt,
            at=self.state.now(),
        )
        self.state.record_push(record)
        for attempt in range(1, self.settings.push_attempts + 1):
            record.attempts = attempt
            params, body, content_type = self.encode(target, message, mode, fmt)
            try:
                response = await self._post(
                    target.url, params=params, content=body, headers={"Content-Type": content_type}
                )
            except Exception as exc:  # timeouts, refused connections, bad URLs: all recorded
                record.error = f"{type(exc).__name__}: {exc}"
                continue
            record.status, record.body, record.error = response.status_code, response.text, None
            if response.status_code >= 500 and self.settings.push_retry_on_5xx:
                continue
            break
        if record.status is not None:
            record.reply, valid = self._read_reply(target, mode, record.body)
            record.reply_valid = valid and record.status == 200
        return record

    def _read_reply(self, target: Target, mode: PushMode, body: str) -> tuple[str | None, bool]:
        """Decode the receiver's answer; valid means WeChat would show the user no error."""
        text = body.strip()
        if text in ("", "success"):
            return None, True
        try:
            fields = parse_xml(text.encode())
        except WeChatCryptoError:
            return None, False
        if "Encrypt" in fields and mode != "plain":
            try:
                plain = target.crypto.decrypt(
                    fields.get("MsgSignature", ""),
                    fields.get("TimeStamp", ""),
                    fields.get("Nonce", ""),
                    fields["Encrypt"],
                ).decode()
                inner = parse_xml(plain.encode())
            except (WeChatCryptoError, UnicodeDecodeError):
                return None, False
            return plain, "MsgType" in inner
        # Safe mode requires an encrypted reply; plaintext is accepted otherwise.
        return text, "MsgType" in fields and mode != "safe"

    async def verify_url(self, app: App) -> dict[str, Any]:
        """The URL check WeChat makes when the push URL is saved: the body must echo ``echostr``."""
        target = self.target(app)
        timestamp, nonce, echostr = str(int(time.time())), _nonce(), str(secrets.randbelow(10**19))
        params = {
            "signature": sign(target.crypto.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        try:
            response = await self._post_or_get("GET", target.url, params=params)
        except Exception as exc:  # reported to the caller, like WeChat's console does
            return {"status": None, "body": "", "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"status": response.status_code, "body": response.text, "ok": response.text == echostr}

    async def notify_pay(
        self, keys: PayKeys, url: str, body: dict[str, Any], plaintext: dict[str, Any]
    ) -> PushRecord:
        """Send a pay notification once now; keep retrying in the background until acknowledged."""
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        record = PushRecord(
            id=self.state.next_id(),
            target="pay",
            url=url,
            message={"event_type": body["event_type"], "resource": plaintext},
            at=self.state.now(),
        )
        self.state.record_push(record)
        await self._pay_attempt(keys, record, raw)
        if not record.acknowledged:
            self.state.spawn(self._pay_retries(keys, record, raw))
        return record

    async def _pay_attempt(self, keys: PayKeys, record: PushRecord, raw: bytes) -> None:
        # Each attempt is signed afresh: receivers reject stale timestamps.
        headers = sign_notification(raw, keys.platform_key, keys.platform_serial)
        headers["Content-Type"] = "application/json"
        record.attempts += 1
        try:
            response = await self._post(record.url, content=raw, headers=headers)
        except Exception as exc:  # recorded; the retry schedule decides what happens next
            record.status, record.body, record.error = None, "", f"{type(exc).__name__}: {exc}"
            return
        record.status, record.body, record.error = response.status_code, response.text, None
        # The HTTP status decides: 200/204 acknowledge even with a FAIL body.
        record.acknowledged = response.status_code in (200, 204)

    async def _pay_retries(self, keys: PayKeys, record: PushRecord, raw: bytes) -> None:
        for delay in self.settings.pay_retry_delays:
            await asyncio.sleep(delay)
            try:
                await self._pay_attempt(keys, record, raw)
            except Exception as exc:  # a retry loop must never die silently
                record.error = f"{type(exc).__name__}: {exc}"
            if record.acknowledged:
                return
