"""Routing and sending one message: the ledger decides, WeChat is called outside any transaction.

1. *Route* (one transaction, the message row locked): the marketing rules
   (blocklist, quiet hours, the daily cap), then the purpose's channels in
   order, each judged from the ledger; the first usable one is *reserved*
   (a subscribe credit, a window send) and the message becomes ``sending``.
2. *Call* WeChat with bounded retries on transient errors (-1, 45009); a
   timeout or a connection lost mid-call is ``unknown`` and never resent.
3. *Record* (one transaction): errcode 0 keeps the reservation; a refusal
   (43101, 43004, 45015, 45047) reconciles the ledger and falls back to the
   next channel; any other failure releases the reservation.

A crash between 1 and 3 leaves the message ``sending``: the scheduler later
marks it ``unknown`` (it may have been sent), so nobody is written to twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service import catalog
from messaging_service.audience import repository as audience
from messaging_service.catalog import PurposeSnapshot
from messaging_service.clock.service import Clock
from messaging_service.config import MessagingSettings
from messaging_service.ledger import repository as ledger
from messaging_service.messages.models import Attempt, Message
from messaging_service.messages.policy import local_date, quiet_until
from messaging_service.purposes import service as purposes
from messaging_service.wechat import MessagingApi, TokenSource
from shared.contracts.messaging import MessageFailed, MessageSent, MessageUndeliverable
from shared.db import unit_of_work
from shared.events.outbox import emit
from shared.runtime import ServiceRuntime
from shared.wechat.errors import WeChatError, WeChatUnavailable

log = structlog.get_logger("messaging.dispatch")

TRANSIENT = {-1: "provider_error", 45009: "rate_limited"}
# Refusals that tell us something about the ledger; the next channel is tried.
REFUSALS = {43101: "user_refused", 43004: "not_following", 45015: "window_closed", 45047: "window_closed"}
INVALID = {47003, 40037, 41030, 40008}


@dataclass
class Plan:
    """A reserved channel of one message, and the WeChat call to make."""

    message_id: int
    member_no: int
    purpose: str
    channel: str
    index: int
    template_id: str | None
    openid: str
    appid: str
    body: dict[str, Any]
    interaction: str | None = None


@dataclass
class Outcome:
    """What WeChat answered, after retries."""

    kind: str  # sent | error | unknown
    errcode: int | None = None
    errmsg: str | None = None
    msgid: str | None = None
    tries: list[tuple[int | None, str | None]] = field(default_factory=list)


def build_body(
    settings: MessagingSettings, config: dict[str, Any], rendered: dict[str, Any], openid: str, message_id: int
) -> dict[str, Any]:
    """The WeChat request body of one channel of a message, to ``openid``."""
    channel = config["channel"]
    if channel == "subscribe":
        body = {"touser": openid, "template_id": config["template_id"], "data": rendered,
                "miniprogram_state": settings.mp_state, "lang": "zh_CN"}
        if config.get("page"):
            body["page"] = config["page"]
        return body
    if channel == "template":
        body = {"touser": openid, "template_id": config["template_id"], "data": rendered,
                "client_msg_id": f"qy{message_id}"}
        if config.get("url"):
            body["url"] = config["url"]
        if config.get("page"):
            body["miniprogram"] = {"appid": settings.mp_appid, "pagepath": config["page"]}
        return body
    return {"touser": openid, "msgtype": "text", "text": {"content": rendered["text"]}}


class Dispatcher:
    """Routes and sends messages; the entry point of its own units of work."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.settings: MessagingSettings = runtime.settings  # type: ignore[assignment]

    @property
    def clock(self) -> Clock:
        return self.runtime.extras["clock"]

    @property
    def api(self) -> MessagingApi:
        return self.runtime.extras["wechat"]

    @property
    def tokens(self) -> TokenSource:
        return self.runtime.extras["tokens"]

    async def dispatch(self, message_id: int, plan: Plan | None = None) -> Message | None:
        """Route (unless ``plan`` was made already), send and record one message, falling back channel by channel.

        Returns the message as its last transaction left it (None when it was not to be routed here).
        """
        last: Message | None = None
        for _ in range(4):  # at most one pass per channel, plus the final verdict
            if plan is None:
                async with unit_of_work(self.runtime.session_factory) as session:
                    message = await session.scalar(
                        select(Message).where(Message.id == message_id).with_for_update()
                    )
                    if message is None or message.status not in ("queued", "held"):
                        return message or last
                    last = message
                    plan = await self._route_message(session, message)
            if plan is None:
                return last
            outcome = await self._call(plan)
            async with unit_of_work(self.runtime.session_factory) as session:
                again, last = await self._record(session, plan, outcome)
            if not again:
                return last
            plan = None
        return last

    async def route_new(self, session: AsyncSession, message: Message) -> Plan | None:
        """Route a message in the transaction that creates it (one transaction fewer per send)."""
        if message.status != "queued":
            return None
        return await self._route_message(session, message)

    # -- 1. route ---------------------------------------------------------------------------------

    async def _route_message(self, session: AsyncSession, message: Message) -> Plan | None:
        now = self.clock.now()
        purpose = await catalog.purpose(session, message.purpose)
        if purpose is None:
            await self._undeliverable(session, message, "invalid_data", now)
            return None
        who = await audience.reachable(session, message.member_no)
        if message.message_class == "marketing" and message.cap_date is None:
            verdict = await self._marketing_gate(session, message, purpose, who, now)
            if verdict is not None:
                return None
        for index in range(message.next_channel, len(purpose.channels)):
            config = purpose.channels[index]
            plan = await self._try_channel(session, message, config, index, who, now)
            if plan is not None:
                message.status, message.channel, message.template_id = "sending", plan.channel, plan.template_id
                message.openid, message.next_channel, message.updated_at = plan.openid, index + 1, now
                return plan
        first = message.reasons[0] if message.reasons else "no_credit"
        await self._undeliverable(session, message, first, now)
        return None

    async def _marketing_gate(
        self, session: AsyncSession, message: Message, purpose: PurposeSnapshot, who: audience.Reachable, now: datetime
    ) -> str | None:
        """Blocklist, quiet hours and the daily cap; a reason when the message stops here (or waits)."""
        s = self.settings
        if who.blocked:
            await self._undeliverable(session, message, "blocked", now)
            return "blocked"
        staleness = timedelta(minutes=purpose.max_staleness_minutes or s.max_staleness_minutes)
        since = message.send_at or message.requested_at
        if message.quiet_deferred and now - since > staleness:
            await self._undeliverable(session, message, "quiet_hours_deferred", now)
            return "quiet_hours_deferred"
        until = quiet_until(now, zone=s.timezone, start=s.quiet_start, end=s.quiet_end)
        if until is not None:
            if until - since > staleness:
                await self._undeliverable(session, message, "quiet_hours_deferred", now)
            else:
                message.status, message.hold_until, message.quiet_deferred = "held", until, True
                message.reason, message.updated_at = "quiet_hours_deferred", now
            return "quiet_hours_deferred"
        day = local_date(now, s.timezone)
        cap = purpose.daily_cap if purpose.daily_cap is not None else s.daily_marketing_cap
        if not await ledger.reserve_cap(session, member_no=message.member_no, day=day, cap=cap):
            await self._undeliverable(session, message, "frequency_capped", now)
            return "frequency_capped"
        message.cap_date = day
        return None

    async def _try_channel(
        self, session: AsyncSession, message: Message, config: dict[str, Any], index: int,
        who: audience.Reachable, now: datetime,
    ) -> Plan | None:
        channel = config["channel"]
        template = None
        if channel != "custom":
            template = await catalog.template(session, purposes.APP_OF[channel], config["template_id"])
            if template is None or template.removed_at is not None:
                self._skip(session, message, channel, config.get("template_id"), "invalid_data", now)
                return None
        rendered, errors = purposes.render_channel(config, template, message.data)
        if errors:
            self._skip(session, message, channel, config.get("template_id"), "invalid_data", now)
            return None
        base = {"message_id": message.id, "member_no": message.member_no, "purpose": message.purpose,
                "channel": channel, "index": index}
        if channel == "subscribe":
            if who.mp_openid is None or not await ledger.reserve_credit(
                session, openid=who.mp_openid, template_id=config["template_id"]
            ):
                self._skip(session, message, channel, config["template_id"], "no_credit", now)
                return None
            body = build_body(self.settings, config, rendered, who.mp_openid, message.id)
            return Plan(**base, template_id=config["template_id"], openid=who.mp_openid,
                        appid=self.settings.mp_appid, body=body)
        if who.oa_openid is None or not who.following:
            self._skip(session, message, channel, config.get("template_id"), "not_following", now)
            return None
        if channel == "template":
            body = build_body(self.settings, config, rendered, who.oa_openid, message.id)
            return Plan(**base, template_id=config["template_id"], openid=who.oa_openid,
                        appid=self.settings.oa_appid, body=body)
        interaction = await ledger.consume_window(session, openid=who.oa_openid, app="oa", now=now)
        if interaction is None:
            self._skip(session, message, channel, None, "window_closed", now)
            return None
        body = build_body(self.settings, config, rendered, who.oa_openid, message.id)
        return Plan(**base, template_id=None, openid=who.oa_openid, appid=self.settings.oa_appid, body=body,
                    interaction=interaction)

    def _skip(self, session: AsyncSession, message: Message, channel: str, template_id: str | None,
              reason: str, now: datetime) -> None:
        message.reasons = [*message.reasons, reason]
        session.add(Attempt(message_id=message.id, channel=channel, template_id=template_id, outcome="skipped",
                            reason=reason, at=now))
        return None

    async def _undeliverable(self, session: AsyncSession, message: Message, reason: str, now: datetime) -> None:
        await self._release_cap(session, message)
        message.status, message.reason, message.updated_at = "undeliverable", reason, now
        await emit(session, MessageUndeliverable(member_no=message.member_no, message_id=message.id,
                                                 purpose=message.purpose, reason=reason, reasons=list(message.reasons),
                                                 message_class=message.message_class),
             member_no=message.member_no)
        return None

    async def _release_cap(self, session: AsyncSession, message: Message) -> None:
        if message.cap_date is not None:
            await ledger.release_cap(session, member_no=message.member_no, day=message.cap_date)
            message.cap_date = None

    # -- 2. call ----------------------------------------------------------------------------------

    async def _send(self, plan: Plan, token: str) -> dict[str, Any]:
        if plan.channel == "subscribe":
            return await self.api.send_subscribe(token, plan.body)
        if plan.channel == "template":
            return await self.api.send_template(token, plan.body)
        return await self.api.send_custom(token, plan.body)

    async def _call(self, plan: Plan) -> Outcome:
        s = self.settings
        outcome = Outcome(kind="error")
        try:
            token = await self.tokens.current(plan.appid)
        except Exception as exc:  # identity unreachable: nothing was sent
            outcome.errmsg = f"token: {type(exc).__name__}"
            outcome.tries.append((None, outcome.errmsg))
            return outcome
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(s.wechat_timeout_seconds):
                    answer = await self._send(plan, token)
            except TimeoutError:
                return self._unknown(outcome, "timed out")
            except WeChatUnavailable as exc:
                if "ClientConnectorError" in exc.errmsg or "HTTP 5" in exc.errmsg:
                    # The call never reached WeChat (or WeChat failed before acting): a transient error.
                    errcode, errmsg = -1, exc.errmsg
                else:
                    return self._unknown(outcome, exc.errmsg)
            except WeChatError as exc:
                errcode, errmsg = exc.errcode, exc.errmsg
                if exc.needs_new_token and not refreshed:
                    refreshed = True
                    outcome.tries.append((errcode, errmsg))
                    try:
                        token = await self.tokens.invalidate(plan.appid, token)
                    except Exception:
                        outcome.errcode, outcome.errmsg = errcode, errmsg
                        return outcome
                    continue
            else:
                outcome.kind = "sent"
                msgid = answer.get("msgid")
                outcome.msgid = str(msgid) if msgid is not None else None
                return outcome
            outcome.tries.append((errcode, errmsg))
            if errcode in TRANSIENT and attempt < s.send_attempts:
                await asyncio.sleep(s.retry_base_seconds * (2 ** (attempt - 1)))
                continue
            outcome.errcode, outcome.errmsg = errcode, errmsg
            return outcome

    @staticmethod
    def _unknown(outcome: Outcome, errmsg: str) -> Outcome:
        outcome.kind, outcome.errmsg = "unknown", errmsg
        return outcome

    # -- 3. record --------------------------------------------------------------------------------

    async def _record(self, session: AsyncSession, plan: Plan, outcome: Outcome) -> tuple[bool, Message]:
        """Apply WeChat's answer; True when the next channel should be tried."""
        message = await session.scalar(select(Message).where(Message.id == plan.message_id).with_for_update())
        assert message is not None
        now = self.clock.now()
        earlier = outcome.tries[:-1] if outcome.kind == "error" else outcome.tries
        for errcode, errmsg in earlier:
            session.add(Attempt(message_id=message.id, channel=plan.channel, template_id=plan.template_id,
                                outcome="retry", reason=TRANSIENT.get(errcode or 0, "provider_error"),
                                errcode=errcode, errmsg=errmsg, at=now))
        message.updated_at = now
        fell_back = bool(message.reasons)
        if outcome.kind == "sent":
            session.add(Attempt(message_id=message.id, channel=plan.channel, template_id=plan.template_id,
                                outcome="sent", errcode=0, at=now))
            message.status, message.sent_at, message.reason = "sent", now, None
            message.wechat_msgid = outcome.msgid
            if plan.channel == "template":
                message.client_msg_id = plan.body.get("client_msg_id")
            await self._early_report(session, message)
            await emit(session, MessageSent(member_no=message.member_no, message_id=message.id, purpose=message.purpose,
                                      message_class=message.message_class,
                                      channel=plan.channel,
                                      template_id=plan.template_id, wechat_msgid=outcome.msgid,
                                      fell_back=fell_back), member_no=message.member_no)
            return False, message
        if outcome.kind == "unknown":
            # Maybe sent: the reservation and the cap stay used, and nothing is resent.
            session.add(Attempt(message_id=message.id, channel=plan.channel, template_id=plan.template_id,
                                outcome="unknown", reason="unknown_outcome", errmsg=outcome.errmsg, at=now))
            message.status, message.reason = "unknown", "unknown_outcome"
            await emit(session, MessageFailed(
                member_no=message.member_no, message_id=message.id, purpose=message.purpose,
                message_class=message.message_class,
                channel=plan.channel,
                reason="unknown_outcome"), member_no=message.member_no)
            return False, message
        errcode = outcome.errcode
        refusal = REFUSALS.get(errcode or 0)
        if refusal is not None:
            await self._reconcile(session, plan, errcode or 0, now)
            session.add(Attempt(message_id=message.id, channel=plan.channel, template_id=plan.template_id,
                                outcome="refused", reason=refusal, errcode=errcode, errmsg=outcome.errmsg, at=now))
            message.reasons = [*message.reasons, refusal]
            message.status = "queued"
            return True, message
        await self._release(session, plan)
        await self._release_cap(session, message)
        if errcode in TRANSIENT:
            reason = TRANSIENT[errcode]
        elif errcode in INVALID:
            reason = "invalid_data"
        else:
            reason = "provider_error"
        session.add(Attempt(message_id=message.id, channel=plan.channel, template_id=plan.template_id,
                            outcome="failed", reason=reason, errcode=errcode, errmsg=outcome.errmsg, at=now))
        message.status, message.reason = "failed", reason
        await emit(session, MessageFailed(member_no=message.member_no, message_id=message.id, purpose=message.purpose,
                                    message_class=message.message_class,
                                    channel=plan.channel,
                                    reason=reason, errcode=errcode), member_no=message.member_no)
        return False, message

    async def _reconcile(self, session: AsyncSession, plan: Plan, errcode: int, now: datetime) -> None:
        """What a refusal says about the ledger, applied to it."""
        if errcode == 43101 and plan.template_id:
            # WeChat says no credit is left, whatever we counted: zero ours and say why.
            await ledger.zero_credits(session, openid=plan.openid, template_id=plan.template_id,
                                      reason=f"43101 at message {plan.message_id}", decision=None)
        elif errcode == 43004:
            await audience.mark_not_following(session, openid=plan.openid)
        elif errcode == 45015:
            await ledger.close_windows(session, openid=plan.openid, app="oa", now=now)
        elif errcode == 45047:
            await ledger.exhaust_windows(session, openid=plan.openid, app="oa")
        else:
            await self._release(session, plan)

    async def _release(self, session: AsyncSession, plan: Plan) -> None:
        if plan.channel == "subscribe" and plan.template_id:
            await ledger.release_credit(session, openid=plan.openid, template_id=plan.template_id)
        elif plan.channel == "custom" and plan.interaction:
            await ledger.release_window(session, openid=plan.openid, app="oa", interaction=plan.interaction)

    async def _early_report(self, session: AsyncSession, message: Message) -> None:
        """A delivery report that arrived before this transaction (the push raced the answer)."""
        if message.wechat_msgid is None:
            return
        # The upsert waits for a report being written right now, and makes a later report wait for this
        # transaction (then find the msgid): the two sides never miss each other.
        row = (await session.execute(
            text("""INSERT INTO delivery_reports (wechat_msgid, status, at) VALUES (:id, '', now())
                    ON CONFLICT (wechat_msgid) DO UPDATE SET status = delivery_reports.status
                    RETURNING status, at"""),
            {"id": message.wechat_msgid},
        )).one()
        if row[0]:
            message.delivery_status, message.delivered_at = row[0], row[1]
            message.status = "delivered" if row[0] == "success" else "failed"
