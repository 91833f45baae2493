"""WeChat protocol code: API client, push crypto and XML, mini-program data, WeChat Pay v3.

Pure protocol, no business rules; every fact implemented here is described in
``docs/wechat.md``.
"""

from shared.wechat.errors import (
    NEVER_RETRY_ERRCODES,
    REFRESH_TOKEN_ERRCODES,
    MalformedPush,
    MalformedXML,
    WeChatCryptoError,
    WeChatError,
    WeChatUnavailable,
)

__all__ = [
    "NEVER_RETRY_ERRCODES",
    "REFRESH_TOKEN_ERRCODES",
    "MalformedPush",
    "MalformedXML",
    "WeChatCryptoError",
    "WeChatError",
    "WeChatUnavailable",
]
