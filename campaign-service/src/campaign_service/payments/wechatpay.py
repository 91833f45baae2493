"""WeChat Pay v3 merchant client: JSAPI orders, query, close, refunds (signed requests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shared.errors import UpstreamError
from shared.settings import QunyunSettings
from shared.wechat.pay import jsapi_pay_params, load_private_key, sign_request

log = structlog.get_logger("campaign.wechatpay")


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

    @classmethod
    def from_settings(cls, settings: QunyunSettings, http: httpx.AsyncClient) -> WeChatPayClient | None:
        """A client when the merchant key is configured, else None (paid periods are then refused)."""
        if settings.pay_mch_key_file is None or not settings.pay_mch_serial:
            return None
        return cls(
            http=http,
            base_url=settings.wechatpay_api_base.rstrip("/"),
            appid=settings.mp_appid,
            mchid=settings.pay_mchid,
            serial_no=settings.pay_mch_serial,
            private_key=load_private_key(settings.pay_mch_key_file),
            notify_base=settings.gateway_url.rstrip("/"),
        )

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        text = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        auth = sign_request(method, path, text, self.mchid, self.serial_no, self.private_key)
        headers = {"Authorization": auth, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self.http.request(
                method, self.base_url + path, content=text or None, headers=headers
            )
        except httpx.HTTPError as exc:
            raise WeChatPayError(0, "NETWORK_ERROR", repr(exc)) from exc
        # The platform signature on answers is not checked here: answers only
        # inform our state; money moves are confirmed by verified notifications.
        payload: Any = response.json() if response.content else None
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
        return dict(payload)
