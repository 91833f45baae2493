"""Checking that a push really comes from WeChat, in plaintext, compatible and safe mode.

Plaintext mode signs the query (``signature`` over token, timestamp, nonce).
Safe and compatible mode (``encrypt_type=aes``) also sign the encrypted body
(``msg_signature``); the body's ``Encrypt`` is then the only content trusted.
A timestamp more than five minutes off is a replay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.errors import BadRequest, Forbidden
from shared.wechat.callback import CallbackCrypto, check_signature
from shared.wechat.errors import WeChatCryptoError

MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class PushQuery:
    """The query parameters WeChat adds to a push URL."""

    signature: str | None
    timestamp: str | None
    nonce: str | None
    encrypt_type: str | None = None
    msg_signature: str | None = None
    echostr: str | None = None

    @property
    def encrypted(self) -> bool:
        """Safe or compatible mode."""
        return (self.encrypt_type or "").lower() == "aes"


def check_fresh(timestamp: str | None, *, now: float | None = None) -> None:
    """Reject a missing, malformed or stale timestamp (replay protection)."""
    if not timestamp or not timestamp.isdigit():
        raise Forbidden("缺少或无效的时间戳。", slug="invalid-signature", title="Invalid signature")
    skew = abs((now or time.time()) - int(timestamp))
    if skew > MAX_SKEW_SECONDS:
        raise Forbidden("请求时间戳已过期，疑似重放。", slug="replayed-push", title="Stale timestamp (replay)")


def check_query_signature(query: PushQuery, token: str) -> None:
    """Verify ``signature`` over token, timestamp and nonce."""
    if not (query.signature and query.timestamp and query.nonce) or not check_signature(
        token, query.signature, query.timestamp, query.nonce
    ):
        raise Forbidden("签名校验失败。", slug="invalid-signature", title="Invalid signature")


def decrypt_body(query: PushQuery, crypto: CallbackCrypto, encrypt_b64: str | None) -> bytes:
    """Verify ``msg_signature`` and decrypt ``Encrypt``; the appid inside must be ours."""
    if not encrypt_b64:
        raise BadRequest("加密模式下缺少 Encrypt 字段。", slug="malformed-push", title="Malformed push")
    if not (query.msg_signature and query.timestamp and query.nonce):
        raise Forbidden("缺少 msg_signature。", slug="invalid-signature", title="Invalid signature")
    try:
        return crypto.decrypt(query.msg_signature, query.timestamp, query.nonce, encrypt_b64)
    except WeChatCryptoError as exc:
        raise Forbidden("消息签名或解密失败。", slug="invalid-signature", title="Invalid signature") from exc
