"""WeChat Pay notifications: ``/wechat/pay/notify`` and ``/wechat/pay/refund-notify``.

Verified (platform signature over ``timestamp\\nnonce\\nbody\\n``, fresh
timestamp), decrypted (AEAD_AES_256_GCM with the APIv3 key), deduped by
notification id and recorded with their ``wechat.inbound`` event before the
2xx answer. Any failure answers non-2xx, so WeChat Pay retries later.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gateway.callbacks import repository
from gateway.callbacks.platform_keys import PlatformKeyLearner
from shared.contracts.gateway import PaymentSucceeded, RefundUpdated
from shared.errors import BadRequest, PayloadTooLarge, Unauthorized, Unavailable
from shared.events.outbox import emit
from shared.routing import SessionDep
from shared.wechat.errors import WeChatCryptoError
from shared.wechat.pay import UnknownPlatformSerial, decrypt_resource, verify_notification

log = structlog.get_logger("gateway.pay")
router = APIRouter(prefix="/wechat/pay", tags=["wechat"], include_in_schema=False)

MAX_NOTIFICATION_BYTES = 64 * 1024


async def _verified(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The notification and its decrypted resource, or a problem."""
    runtime = request.app.state.runtime
    keys = runtime.extras.get("pay_platform_keys")
    apiv3_key = runtime.settings.pay_apiv3_key
    if not keys or apiv3_key is None:
        raise Unavailable("支付通知未配置平台证书或 APIv3 密钥。", slug="pay-not-configured")
    body = await request.body()
    if len(body) > MAX_NOTIFICATION_BYTES:
        raise PayloadTooLarge("支付通知内容过大。")
    try:
        try:
            verify_notification(request.headers, body, keys)
        except UnknownPlatformSerial as exc:
            # A rotation at WeChat Pay: learn the new certificate from campaign, then check again.
            learner: PlatformKeyLearner = runtime.extras["pay_key_learner"]
            if not await learner.learn(runtime, exc.serial):
                raise
            verify_notification(request.headers, body, keys)
    except WeChatCryptoError as exc:
        log.warning("pay_notification_rejected", reason=str(exc))
        raise Unauthorized("支付通知签名校验失败。", slug="invalid-signature", title="Invalid signature") from exc
    try:
        notification = orjson.loads(body)
        resource = decrypt_resource(apiv3_key.get_secret_value(), notification["resource"])
        notification_id = str(notification["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadRequest("支付通知格式无效。", slug="malformed-notification") from exc
    except WeChatCryptoError as exc:
        raise BadRequest("支付通知无法解密。", slug="undecryptable-notification") from exc
    return notification | {"id": notification_id}, resource


def _ok() -> Response:
    return Response(status_code=204)


@router.post("/notify")
async def pay_notify(request: Request, session: SessionDep) -> Response:
    """TRANSACTION.SUCCESS notifications for JSAPI orders."""
    notification, tx = await _verified(request)
    if notification.get("event_type") != "TRANSACTION.SUCCESS":
        log.info("pay_notification_ignored", event_type=notification.get("event_type"))
        return _ok()
    try:
        event = PaymentSucceeded(
            notification_id=notification["id"], out_trade_no=tx["out_trade_no"],
            transaction_id=tx["transaction_id"], trade_state=tx.get("trade_state", "SUCCESS"),
            payer_openid=(tx.get("payer") or {}).get("openid", ""), amount_total=int(tx["amount"]["total"]),
            payer_total=(tx["amount"] or {}).get("payer_total"), success_time=tx.get("success_time"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest("支付通知缺少交易字段。", slug="malformed-notification") from exc
    if await repository.remember_pay_notification(
        session, notification_id=event.notification_id, event_type="TRANSACTION.SUCCESS",
        out_trade_no=event.out_trade_no,
    ):
        await emit(session, event, member_no=None, key=event.out_trade_no)
    return _ok()


@router.post("/refund-notify")
async def refund_notify(request: Request, session: SessionDep) -> Response:
    """REFUND.SUCCESS / ABNORMAL / CLOSED notifications."""
    notification, refund = await _verified(request)
    event_type = str(notification.get("event_type", ""))
    if not event_type.startswith("REFUND."):
        return _ok()
    try:
        event = RefundUpdated(
            notification_id=notification["id"], out_trade_no=refund["out_trade_no"],
            out_refund_no=refund["out_refund_no"], refund_id=refund.get("refund_id", ""),
            refund_status=refund.get("refund_status") or event_type.split(".", 1)[1],
            amount_refund=int(refund["amount"]["refund"]), amount_total=int(refund["amount"]["total"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest("退款通知缺少字段。", slug="malformed-notification") from exc
    if await repository.remember_pay_notification(
        session, notification_id=event.notification_id, event_type=event_type, out_trade_no=event.out_trade_no,
    ):
        await emit(session, event, member_no=None, key=event.out_trade_no)
    return JSONResponse({"code": "SUCCESS"}, status_code=200)
