"""WeChat Pay v3: JSAPI orders, query, close, refunds, platform certificates; signed requests and answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from shared.wechat.errors import WeChatCryptoError
from shared.wechat.pay import certificates_answer, encrypt_resource, sign_notification, verify_request
from wechat_simulator.context import Sim, SimDep
from wechat_simulator.paykeys import PayKeysMissing
from wechat_simulator.state import App, Order, Refund

router = APIRouter()

CHINA = dt.timezone(dt.timedelta(hours=8))
_OUT_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
_OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
MAX_PARTIAL_REFUNDS = 50
REFUND_PERIOD_SECONDS = 365 * 86400
TRADE_STATE_DESC = {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭", "REFUND": "转入退款"}


def rfc3339(timestamp: float) -> str:
    """A time the way WeChat Pay writes it: ``2024-01-01T12:00:00+08:00``."""
    return dt.datetime.fromtimestamp(timestamp, CHINA).isoformat(timespec="seconds")


class PayError(Exception):
    """A WeChat Pay error answer: HTTP status plus ``{code, message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def signed(sim: Sim, status: int, payload: dict[str, Any] | None) -> Response:
    """An answer signed with the platform key, as WeChat Pay signs every response."""
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    headers: dict[str, str] = {}
    try:
        keys = sim.pay_keys()
        headers = sign_notification(body, keys.platform_key, keys.platform_serial)
    except PayKeysMissing:
        pass
    headers["Request-ID"] = str(uuid.uuid4())
    return Response(
        body, status_code=status, headers=headers, media_type=None if payload is None else "application/json"
    )


async def authenticate(request: Request, sim: Sim) -> tuple[str, str]:
    """Verify the merchant's Authorization header; returns ``(mchid, body text)``."""
    try:
        keys = sim.pay_keys()
    except PayKeysMissing as exc:
        raise PayError(500, "SYSTEM_ERROR", str(exc)) from exc
    body = (await request.body()).decode()
    query = request.scope.get("query_string", b"").decode()
    path = request.url.path + (f"?{query}" if query else "")
    try:
        fields = verify_request(
            request.method,
            path,
            body,
            request.headers.get("Authorization", ""),
            keys.merchant_keys,
            mchid=sim.settings.pay_mchid,
        )
    except WeChatCryptoError as exc:
        raise PayError(401, "SIGN_ERROR", f"签名错误: {exc}") from exc
    return fields["mchid"], body


def _json(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PayError(400, "PARAM_ERROR", "请求体不是合法的JSON") from exc
    if not isinstance(data, dict):
        raise PayError(400, "PARAM_ERROR", "请求体不是JSON对象")
    return data


def transaction_view(order: Order) -> dict[str, Any]:
    """The transaction as query answers and notifications describe it."""
    view: dict[str, Any] = {
        "appid": order.appid,
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "trade_type": "JSAPI",
        "trade_state": order.trade_state,
        "trade_state_desc": TRADE_STATE_DESC.get(order.trade_state, order.trade_state),
        "attach": order.attach,
        "payer": {"openid": order.payer_openid},
        "amount": {"total": order.total, "currency": order.currency},
    }
    if order.transaction_id:
        view["transaction_id"] = order.transaction_id
        view["bank_type"] = "OTHERS"
        view["success_time"] = rfc3339(order.success_time or 0)
        view["amount"].update({"payer_total": order.total, "payer_currency": order.currency})
    return view


def _order_error(sim: Sim, body: dict[str, Any], mchid: str) -> str | None:
    s = sim.settings
    if body.get("mchid") != mchid or body.get("appid") not in (s.mp_appid, s.oa_appid):
        return "APPID_MCHID_NOT_MATCH"
    amount, payer = body.get("amount"), body.get("payer")
    total = amount.get("total") if isinstance(amount, dict) else None
    checks = [
        isinstance(body.get("description"), str) and 0 < len(body["description"]) <= 127,
        isinstance(body.get("out_trade_no"), str) and bool(_OUT_NO.match(body["out_trade_no"])),
        isinstance(total, int) and not isinstance(total, bool) and total >= 1,
        isinstance(amount, dict) and amount.get("currency", "CNY") == "CNY",
        isinstance(payer, dict) and isinstance(payer.get("openid"), str),
    ]
    return None if all(checks) else "PARAM_ERROR"


def _notify_url(sim: Sim, value: Any) -> str:
    default = sim.settings.gateway_url.rstrip("/") + "/wechat/pay/notify"
    if value is None:
        return default
    parts = urlsplit(str(value))
    # Real WeChat Pay demands https; the local gateway speaks http, so both are accepted.
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise PayError(400, "PARAM_ERROR", "notify_url 格式不正确")
    return str(value)


@router.post("/v3/pay/transactions/jsapi")
async def create_jsapi_order(request: Request, sim: SimDep) -> Response:
    """Place a JSAPI order; the same out_trade_no with the same content returns the same prepay_id."""
    mchid, raw = await authenticate(request, sim)
    body = _json(raw)
    problem = _order_error(sim, body, mchid)
    if problem == "APPID_MCHID_NOT_MATCH":
        raise PayError(400, problem, "appid和mch_id不匹配")
    if problem:
        raise PayError(400, problem, "参数错误")
    app: App = "mp" if body["appid"] == sim.settings.mp_appid else "oa"
    if sim.state.person_by_openid(body["payer"]["openid"], app) is None:
        raise PayError(400, "PARAM_ERROR", "openid和appid不匹配")
    notify_url = _notify_url(sim, body.get("notify_url"))
    state = sim.state
    async with state.lock:
        existing = state.orders.get(body["out_trade_no"])
        if existing is not None:
            if existing.trade_state in ("SUCCESS", "REFUND"):
                raise PayError(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                raise PayError(400, "ORDERCLOSED", "该订单已关闭")
            same = (existing.appid, existing.total, existing.payer_openid, existing.description) == (
                body["appid"],
                body["amount"]["total"],
                body["payer"]["openid"],
                body["description"],
            )
            if not same:
                raise PayError(400, "INVALID_REQUEST", "201 商户订单号重复")
            return signed(sim, 200, {"prepay_id": existing.prepay_id})
        now = state.now()
        order = Order(
            appid=body["appid"],
            mchid=mchid,
            out_trade_no=body["out_trade_no"],
            description=body["description"],
            notify_url=notify_url,
            total=body["amount"]["total"],
            currency="CNY",
            payer_openid=body["payer"]["openid"],
            prepay_id="wx"
            + dt.datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d%H%M%S")
            + secrets.token_hex(10),
            created_at=now,
            attach=str(body.get("attach") or ""),
        )
        state.orders[order.out_trade_no] = order
    return signed(sim, 200, {"prepay_id": order.prepay_id})


@router.get("/v3/certificates")
async def platform_certificates(request: Request, sim: SimDep) -> Response:
    """Every platform certificate still listed, each encrypted with the APIv3 key (AEAD_AES_256_GCM)."""
    await authenticate(request, sim)
    keys = sim.pay_keys()
    return signed(sim, 200, certificates_answer(keys.apiv3_key, keys.platform_certificates))


class Rotation(BaseModel):
    """Whether the previous platform certificate stays listed (WeChat keeps it while merchants switch)."""

    keep_old: bool = True


@router.post("/sim/pay/platform-certificates/rotate")
async def rotate_platform_certificate(sim: SimDep, body: Rotation | None = None) -> dict[str, Any]:
    """Control API: a new platform key and certificate sign every answer and notification from now on."""
    previous = sim.pay_keys().platform_serial
    keys = sim.rotate_pay_keys(keep_old=body.keep_old if body else True)
    return {
        "serial": keys.platform_serial,
        "previous_serial": previous,
        "listed": len(keys.platform_certificates),
    }


def _find_order(sim: Sim, out_trade_no: str) -> Order:
    order = sim.state.orders.get(out_trade_no)
    if order is None:
        raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")
    return order


@router.get("/v3/pay/transactions/out-trade-no/{out_trade_no}")
async def query_order(out_trade_no: str, request: Request, sim: SimDep) -> Response:
    """The order's current state."""
    await authenticate(request, sim)
    return signed(sim, 200, transaction_view(_find_order(sim, out_trade_no)))


@router.get("/v3/pay/transactions/id/{transaction_id}")
async def query_order_by_transaction(transaction_id: str, request: Request, sim: SimDep) -> Response:
    """The order's current state, by WeChat's transaction id."""
    await authenticate(request, sim)
    for order in sim.state.orders.values():
        if order.transaction_id == transaction_id:
            return signed(sim, 200, transaction_view(order))
    raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")


@router.post("/v3/pay/transactions/out-trade-no/{out_trade_no}/close")
async def close_order(out_trade_no: str, request: Request, sim: SimDep) -> Response:
    """Close an unpaid order (204)."""
    await authenticate(request, sim)
    order = _find_order(sim, out_trade_no)
    if order.trade_state in ("SUCCESS", "REFUND"):
        raise PayError(400, "ORDERPAID", "该订单已支付")
    order.trade_state = "CLOSED"
    return signed(sim, 204, None)


def refund_view(sim: Sim, refund: Refund) -> dict[str, Any]:
    """The refund as the refund APIs answer it."""
    order = sim.state.orders[refund.out_trade_no]
    view: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rfc3339(refund.created_at),
        "status": refund.status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": order.total,
            "refund": refund.amount,
            "payer_total": order.total,
            "payer_refund": refund.amount,
            "settlement_total": order.total,
            "settlement_refund": refund.amount,
            "discount_refund": 0,
            "currency": "CNY",
            "from": [],
        },
        "promotion_detail": [],
    }
    if refund.success_time is not None:
        view["success_time"] = rfc3339(refund.success_time)
    return view


def _refund_checks(sim: Sim, order: Order, amount: dict[str, Any], now: float) -> None:
    refund, total = amount.get("refund"), amount.get("total")
    if not isinstance(refund, int) or isinstance(refund, bool) or refund < 1 or total != order.total:
        raise PayError(400, "PARAM_ERROR", "退款金额或订单金额不正确")
    if order.trade_state not in ("SUCCESS", "REFUND") or order.success_time is None:
        raise PayError(400, "INVALID_REQUEST", "订单未支付")
    if now - order.success_time > REFUND_PERIOD_SECONDS:
        raise PayError(400, "INVALID_REQUEST", "订单已超过退款期限")
    refunds = [sim.state.refunds[no] for no in order.refunds]
    if len(refunds) >= MAX_PARTIAL_REFUNDS:
        raise PayError(400, "INVALID_REQUEST", "部分退款次数超过50次")
    if refunds and now - refunds[-1].created_at < sim.settings.refund_min_interval_seconds:
        raise PayError(403, "FREQUENCY_LIMITED", "同一订单的部分退款需间隔1分钟")
    refunded = sum(r.amount for r in refunds if r.status != "CLOSED")
    if refunded + refund > order.total:
        raise PayError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")


@router.post("/v3/refund/domestic/refunds")
async def create_refund(request: Request, sim: SimDep) -> Response:
    """Refund (part of) a paid order; the same out_refund_no returns the same refund."""
    await authenticate(request, sim)
    body = _json((await request.body()).decode())
    out_refund_no = body.get("out_refund_no")
    amount = body.get("amount")
    if (
        not isinstance(out_refund_no, str)
        or not _OUT_REFUND_NO.match(out_refund_no)
        or not isinstance(amount, dict)
    ):
        raise PayError(400, "PARAM_ERROR", "参数错误")
    state = sim.state
    async with state.lock:
        order = _order_for_refund(sim, body)
        existing = state.refunds.get(out_refund_no)
        if existing is not None:
            if existing.out_trade_no != order.out_trade_no:
                raise PayError(400, "INVALID_REQUEST", "商户退款单号已用于其他订单")
            return signed(sim, 200, refund_view(sim, existing))
        now = state.now()
        _refund_checks(sim, order, amount, now)
        refund = Refund(
            refund_id="50" + "".join(secrets.choice("0123456789") for _ in range(30)),
            out_refund_no=out_refund_no,
            out_trade_no=order.out_trade_no,
            amount=amount["refund"],
            reason=str(body.get("reason") or ""),
            notify_url=_notify_url(sim, body.get("notify_url")),
            created_at=now,
        )
        state.refunds[out_refund_no] = refund
        order.refunds.append(out_refund_no)
    state.spawn(_complete_refund(sim, refund))
    return signed(sim, 200, refund_view(sim, refund))


@router.get("/v3/refund/domestic/refunds/{out_refund_no}")
async def query_refund(out_refund_no: str, request: Request, sim: SimDep) -> Response:
    """A refund's current state."""
    await authenticate(request, sim)
    refund = sim.state.refunds.get(out_refund_no)
    if refund is None:
        raise PayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return signed(sim, 200, refund_view(sim, refund))


def _order_for_refund(sim: Sim, body: dict[str, Any]) -> Order:
    if body.get("out_trade_no"):
        return _find_order(sim, str(body["out_trade_no"]))
    for order in sim.state.orders.values():
        if body.get("transaction_id") and order.transaction_id == body["transaction_id"]:
            return order
    raise PayError(404, "RESOURCE_NOT_EXISTS", "订单不存在")


async def _complete_refund(sim: Sim, refund: Refund) -> None:
    """The money arrives after a while; then REFUND.SUCCESS is notified."""
    await asyncio.sleep(sim.settings.refund_success_delay_seconds)
    order = sim.state.orders.get(refund.out_trade_no)
    if order is None or sim.state.refunds.get(refund.out_refund_no) is not refund:
        return  # the simulator was reset meanwhile
    refund.status, refund.success_time = "SUCCESS", sim.state.now()
    order.trade_state = "REFUND"
    plaintext = {
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "transaction_id": order.transaction_id,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_status": "SUCCESS",
        "success_time": rfc3339(refund.success_time),
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": order.total,
            "refund": refund.amount,
            "payer_total": order.total,
            "payer_refund": refund.amount,
        },
    }
    await send_notification(sim, refund.notify_url, "REFUND.SUCCESS", "退款成功", "refund", plaintext)


async def send_notification(
    sim: Sim, url: str, event_type: str, summary: str, original_type: str, plaintext: dict[str, Any]
) -> dict[str, Any]:
    """Encrypt, sign and deliver a pay notification; returns the first attempt's outcome."""
    keys = sim.pay_keys()
    body = {
        "id": str(uuid.uuid4()),
        "create_time": rfc3339(sim.state.now()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": encrypt_resource(keys.apiv3_key, plaintext, original_type, original_type=original_type),
    }
    record = await sim.delivery.notify_pay(keys, url, body, plaintext)
    return {"status": record.status, "body": record.body, "attempts": record.attempts}


def pay_order(sim: Sim, order: Order) -> dict[str, Any]:
    """Mark ``order`` paid (the user confirmed in WeChat); returns the transaction plaintext."""
    now = sim.state.now()
    order.trade_state = "SUCCESS"
    order.success_time = now
    order.transaction_id = (
        "4200"
        + dt.datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d")
        + "".join(secrets.choice("0123456789") for _ in range(16))
    )
    return transaction_view(order)
