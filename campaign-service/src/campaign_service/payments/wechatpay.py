"""WeChat Pay v3 merchant client: JSAPI orders, query, close, refunds (signed requests, verified answers).

Every answer, errors included, must carry a valid platform signature
(``Wechatpay-Signature`` over ``timestamp\nnonce\nbody\n`` by a key of the
:class:`~shared.wechat.pay.PlatformKeyring`, fresh ``Wechatpay-Timestamp``),
checked exactly as notifications are, before anything is read from it: an
answer that fails is a failed call (``WeChatPayError`` with code
``INVALID_SIGNATURE``) and is logged without its body. An answer signed with an
unknown serial first refreshes the platform certificates
(``GET /v3/certificates``), so a rotation at WeChat Pay needs no restart.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shared.errors import UpstreamError
from shared.settings import QunyunSettings
from shared.wechat.errors import WeChatCryptoError
from shared.wechat.pay import (
    CERTIFICATES_PATH,
    PlatformKeyring,
    UnknownPlatformSerial,
    jsapi_pay_params,
    load_private_key,
    platform_keyring,
    sign_request,
    verify_certificates_answer,
    verify_notification,
)

log = structlog.get_logger("campaign.wechatpay")

INVALID_SIGNATURE = "INVALID_SIGNATURE"
# An unknown serial triggers a certificate download at most this often (a
# flood of forged answers must not become a flood of downloads).
CERTIFICATE_REFRESH_MIN_SECONDS = 60.0
# A scheduled download (the gateway's periodic ask) is skipped when the last one is this recent.
SCHEDULED_REFRESH_MIN_SECONDS = 5.0


class WeChatPayError(UpstreamError):
    """WeChat Pay answered with an error ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(
            "微信支付暂时无法处理请求，请稍后再试。", slug="wechatpay-error", extra={"wechatpay_code": code}
        )
        self.http_status, self.code, self.message = status, code, message


@dataclass
class WeChatPayClient:
    """Signs each request with the merchant key; base URL and keys come from settings."""

    http: httpx.AsyncClient
    base_url: str
    appid: str
    mchid: str
    serial_no: str
    private_key: RSAPrivateKey
    notify_base: str
    platform_keys: PlatformKeyring = field(default_factory=PlatformKeyring)
    apiv3_key: str | None = field(default=None, repr=False)
    _refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    # When any download last ran (throttles scheduled downloads), and when one an
    # unknown serial asked for last ran (throttles those). Kept apart: a scheduled
    # download just before a rotation must not hold back learning the new serial.
    _refresh_tried_at: float | None = field(default=None, init=False, repr=False)
    _serial_refresh_tried_at: float | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: QunyunSettings, http: httpx.AsyncClient) -> WeChatPayClient | None:
        """A client when the merchant key is configured, else None (paid periods are then refused).

        Also None when no answer could ever be verified: no platform
        certificate or public key configured and no APIv3 key to download them.
        """
        if settings.pay_mch_key_file is None or not settings.pay_mch_serial:
            return None
        cert, public = settings.pay_platform_cert_file, settings.pay_platform_public_key_file
        keys = platform_keyring(
            cert_file=cert if cert is not None and cert.exists() else None,
            public_key_file=public if public is not None and public.exists() else None,
            public_key_id=settings.pay_platform_key_id,
        )
        apiv3_key = settings.pay_apiv3_key.get_secret_value() if settings.pay_apiv3_key else None
        if not keys and apiv3_key is None:
            log.error(
                "wechatpay_unverifiable",
                hint="set QUNYUN_PAY_PLATFORM_CERT_FILE or QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE, "
                "or QUNYUN_PAY_APIV3_KEY",
            )
            return None
        return cls(
            http=http,
            base_url=settings.wechatpay_api_base.rstrip("/"),
            appid=settings.mp_appid,
            mchid=settings.pay_mchid,
            serial_no=settings.pay_mch_serial,
            private_key=load_private_key(settings.pay_mch_key_file),
            notify_base=settings.gateway_url.rstrip("/"),
            platform_keys=keys,
            apiv3_key=apiv3_key,
        )

    async def _send(self, method: str, path: str, text: str) -> httpx.Response:
        auth = sign_request(method, path, text, self.mchid, self.serial_no, self.private_key)
        headers = {"Authorization": auth, "Accept": "application/json"}
        if text:
            headers["Content-Type"] = "application/json"
        try:
            return await self.http.request(method, self.base_url + path, content=text or None, headers=headers)
        except httpx.HTTPError as exc:
            raise WeChatPayError(0, "NETWORK_ERROR", repr(exc)) from exc

    def _rejected(self, method: str, path: str, response: httpx.Response, reason: str) -> WeChatPayError:
        # Never the body: an unverified answer is not ours to repeat (and may be large or hostile).
        log.warning(
            "wechatpay_answer_rejected",
            method=method,
            path=path.split("?", 1)[0],
            status=response.status_code,
            reason=reason,
            serial=response.headers.get("Wechatpay-Serial"),
            request_id=response.headers.get("Request-ID"),
        )
        return WeChatPayError(response.status_code, INVALID_SIGNATURE, f"answer not verified: {reason}")

    def _mismatch(self, method: str, path: str, field_name: str) -> WeChatPayError:
        log.warning("wechatpay_answer_mismatch", method=method, path=path, field=field_name)
        return WeChatPayError(200, "ANSWER_MISMATCH", f"answer is about another {field_name}")

    async def _verified(self, method: str, path: str, response: httpx.Response) -> None:
        """Raise WeChatPayError unless ``response`` carries a valid platform signature."""
        try:
            verify_notification(response.headers, response.content, self.platform_keys)
            return
        except UnknownPlatformSerial as exc:
            if not await self.refresh_certificates(serial=exc.serial):
                raise self._rejected(method, path, response, str(exc)) from exc
        except WeChatCryptoError as exc:
            raise self._rejected(method, path, response, str(exc)) from exc
        try:
            verify_notification(response.headers, response.content, self.platform_keys)
        except WeChatCryptoError as exc:
            raise self._rejected(method, path, response, str(exc)) from exc

    async def refresh_certificates_unless_recent(self) -> bool:
        """A scheduled download: skipped when one ran within :data:`SCHEDULED_REFRESH_MIN_SECONDS`.

        Returns whether a download ran and succeeded.
        """
        tried = self._refresh_tried_at
        if tried is not None and time.monotonic() - tried < SCHEDULED_REFRESH_MIN_SECONDS:
            return False
        return await self.refresh_certificates()

    async def refresh_certificates(self, *, serial: str | None = None) -> bool:
        """Download the platform certificates and trust exactly those (plus a configured public key).

        With ``serial`` (an answer signed by an unknown serial) it downloads at
        most once per :data:`CERTIFICATE_REFRESH_MIN_SECONDS` and returns
        whether ``serial`` is now known; without, it always downloads and
        returns whether the download succeeded.
        """
        if self.apiv3_key is None:
            return False
        async with self._refresh_lock:
            if serial is not None:
                if serial in self.platform_keys:
                    return True  # another call refreshed meanwhile
                tried = self._serial_refresh_tried_at
                if tried is not None and time.monotonic() - tried < CERTIFICATE_REFRESH_MIN_SECONDS:
                    return False
                self._serial_refresh_tried_at = time.monotonic()
            self._refresh_tried_at = time.monotonic()
            try:
                response = await self._send("GET", CERTIFICATES_PATH, "")
            except WeChatPayError as exc:
                log.warning("wechatpay_certificates_failed", error=exc.message)
                return False
            if response.status_code != 200:
                log.warning("wechatpay_certificates_failed", status=response.status_code)
                return False
            try:
                certificates = verify_certificates_answer(
                    response.headers, response.content, self.apiv3_key, self.platform_keys
                )
            except WeChatCryptoError as exc:
                self._rejected("GET", CERTIFICATES_PATH, response, str(exc))
                return False
            if not certificates:
                log.warning("wechatpay_certificates_empty")
                return False
            added = self.platform_keys.replace_certificates(certificates)
            log.info("wechatpay_certificates_refreshed", serials=sorted(certificates), added=added)
            return serial is None or serial in self.platform_keys

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        text = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        response = await self._send(method, path, text)
        await self._verified(method, path, response)
        try:
            payload: Any = response.json() if response.content else None
        except ValueError as exc:
            raise WeChatPayError(response.status_code, "INVALID_ANSWER", "answer is not JSON") from exc
        if response.status_code >= 400:
            payload = payload or {}
            raise WeChatPayError(
                response.status_code, str(payload.get("code", "")), str(payload.get("message", ""))
            )
        return response.status_code, payload

    async def create_jsapi(
        self, *, out_trade_no: str, description: str, amount_fen: int, openid: str, expires_at: datetime
    ) -> str:
        """Place a JSAPI order; returns the prepay_id (same out_trade_no → same prepay_id)."""
        _, payload = await self._call(
            "POST",
            "/v3/pay/transactions/jsapi",
            {
                "appid": self.appid,
                "mchid": self.mchid,
                "description": description[:127],
                "out_trade_no": out_trade_no,
                "time_expire": expires_at.isoformat(timespec="seconds"),
                "notify_url": f"{self.notify_base}/wechat/pay/notify",
                "amount": {"total": amount_fen, "currency": "CNY"},
                "payer": {"openid": openid},
            },
        )
        return str(payload["prepay_id"])

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        """What the mini-program passes to ``wx.requestPayment``."""
        return jsapi_pay_params(self.appid, prepay_id, self.private_key)

    async def query(self, out_trade_no: str) -> dict[str, Any] | None:
        """The transaction as WeChat Pay knows it, or None if it never got the order."""
        try:
            _, payload = await self._call(
                "GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.mchid}"
            )
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None
            raise
        # A genuine signed answer about another order (replayed within the timestamp skew) is no answer.
        if not isinstance(payload, dict) or (payload.get("out_trade_no"), payload.get("mchid")) != (
            out_trade_no,
            self.mchid,
        ):
            raise self._mismatch("GET", "/v3/pay/transactions/out-trade-no", "out_trade_no or mchid")
        return dict(payload)

    async def close(self, out_trade_no: str) -> None:
        """Close an unpaid order (already closed or unknown is fine)."""
        try:
            await self._call(
                "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.mchid}
            )
        except WeChatPayError as exc:
            if exc.code not in ("ORDER_NOT_EXIST", "ORDERCLOSED"):
                raise

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount_fen: int, total_fen: int, reason: str
    ) -> dict[str, Any]:
        """Request a refund; the same out_refund_no is the same refund (safe to repeat)."""
        _, payload = await self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "reason": reason[:80],
                "notify_url": f"{self.notify_base}/wechat/pay/refund-notify",
                "amount": {"refund": amount_fen, "total": total_fen, "currency": "CNY"},
            },
        )
        if not isinstance(payload, dict) or payload.get("out_refund_no") != out_refund_no:
            raise self._mismatch("POST", "/v3/refund/domestic/refunds", "out_refund_no")
        return dict(payload)
