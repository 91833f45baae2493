"""Errors raised by the WeChat protocol code."""

from __future__ import annotations

# Errcodes after which the caller gets a new access token once and retries.
REFRESH_TOKEN_ERRCODES: frozenset[int] = frozenset({40001, 40014, 42001})
# Errcodes that a retry can never fix (bad appid, bad secret, IP not whitelisted).
NEVER_RETRY_ERRCODES: frozenset[int] = frozenset({40013, 40125, 40164})
# "System busy": the only errcode worth retrying as is.
SYSTEM_BUSY = -1


class WeChatError(Exception):
    """A WeChat API answered with a non-zero ``errcode``."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def needs_new_token(self) -> bool:
        """True when a fresh access token and one retry may succeed."""
        return self.errcode in REFRESH_TOKEN_ERRCODES

    @property
    def retryable(self) -> bool:
        """True when retrying the same call later may succeed."""
        return self.errcode == SYSTEM_BUSY


class WeChatUnavailable(WeChatError):
    """No usable answer at all (transport error, HTTP 5xx, non-JSON body)."""

    def __init__(self, errmsg: str) -> None:
        super().__init__(SYSTEM_BUSY, errmsg)


class WeChatCryptoError(ValueError):
    """A signature, decryption or payload check failed: treat the input as forged."""


class MalformedPush(WeChatCryptoError):
    """A push body cannot be parsed (bad XML or JSON, too large, wrong shape)."""


class MalformedXML(MalformedPush):
    """A push body is not acceptable XML (syntax error, DTD, entities, too large)."""
