"""An httpx transport that sends with aiohttp.

``shared.wechat.api.WeChatApi`` takes an ``httpx.AsyncClient``; under load
httpcore's connection pool costs more CPU than the login itself (the gateway
switched to aiohttp for the same reason), so the client identity hands to
WeChatApi sends through aiohttp's pool instead.
"""

from __future__ import annotations

import aiohttp
import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests over one pooled ``aiohttp.ClientSession`` (created lazily in the loop)."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; aiohttp failures become the httpx errors callers already handle."""
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
        )
        headers = [(k.decode(), v.decode()) for k, v in request.headers.raw if k.lower() != b"host"]
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=headers,
                data=request.content or None,
                timeout=timeout,
                allow_redirects=False,
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=[
                        (k.decode(), v.decode())
                        for k, v in answer.raw_headers
                        if k.lower() not in (b"content-encoding", b"transfer-encoding")
                    ],
                    content=content,
                    request=request,
                )
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except aiohttp.ClientConnectionError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.TransportError(str(exc), request=request) from exc

    async def aclose(self) -> None:
        """Close the aiohttp pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
