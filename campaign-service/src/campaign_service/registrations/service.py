"""Registering for a period: window, blocklist, capacity, free or paid."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NoReturn

import asyncpg
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.blocklist.models import BlockedMember
from campaign_service.channels import service as channels
from campaign_service.channels.service import scene_of
from campaign_service.members import MemberDirectory
from campaign_service.payments.models import Order
from campaign_service.payments.wechatpay import WeChatPayClient
from campaign_service.periods import service as periods
from campaign_service.periods.models import Period
from campaign_service.referrals import service as referrals
from campaign_service.registrations import repository
from campaign_service.registrations.models import Registration
from campaign_service.registrations.schemas import OrderRead, PayParams, RegistrationCreate, RegistrationRead
from shared.contracts.campaign import ChannelTouched, RegistrationCreated
from shared.errors import Conflict, Forbidden, NotFound, Unavailable
from shared.events.outbox import emit, outbox_row

log = structlog.get_logger("campaign.registrations")


def new_out_trade_no(now: datetime) -> str:
    """Our order number: ``Q`` + UTC timestamp + random, 6–32 characters as WeChat Pay requires."""
    return "Q" + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(6).upper()


def _closed() -> Conflict:
    return Conflict("当前不在报名时间内。", slug="registration-closed", title="Registration closed")


def _full() -> Conflict:
    return Conflict("本期名额已满。", slug="period-full", title="Period full")


def _blocked() -> Forbidden:
    return Forbidden("你暂时不能报名新的活动，如有疑问请联系客服。", slug="member-blocked", title="Member blocked")


def _already() -> Conflict:
    return Conflict("你已报名本期活动。", slug="already-registered", title="Already registered")


def _accepting(state: str, late_join: bool, opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
    """Whether a period in ``state`` takes registrations at ``now``."""
    return (state == "open" or (state == "running" and late_join)) and opens_at <= now < closes_at


def _check_open(period: Period, now: datetime) -> None:
    if not _accepting(
        period.state, period.late_join, period.registration_opens_at, period.registration_closes_at, now
    ):
        raise _closed()


def _fast_path_events(
    member_no: int, period_id: int, body: RegistrationCreate, *, source: str, now: datetime
) -> tuple[str | None, dict[str, Any], dict[str, Any] | None]:
    """The channel scene and the outbox rows a one-statement registration writes (ids filled in by SQL)."""
    scene = scene_of(body.channel)
    created = outbox_row(
        RegistrationCreated(
            member_no=member_no, registration_id=0, series_id=0, period_id=period_id, fee_fen=0,
            channel=body.channel,
        ),
        source=source, member_no=member_no, occurred_at=now,
    )
    touched = None
    if scene is not None:
        touched = outbox_row(
            ChannelTouched(member_no=member_no, channel_id=0, scene=scene, first_touch=False),
            source=source, member_no=member_no, occurred_at=now,
        )
    return scene, created, touched


async def register_free(
    pool: asyncpg.Pool,
    *,
    period_id: int,
    member_no: int,
    body: RegistrationCreate,
    now: datetime,
    source: str,
    notify: bool,
    idempotency: tuple[str, str] | None = None,
    batches: repository.FreeRegistrationBatches | None = None,
) -> RegistrationRead | None:
    """Register a member for a free period in one statement; None: take :func:`register` instead.

    The same rules as :func:`register` (window, blocklist, one live
    registration, capacity, channel attribution and its touch) in the same
    order of refusals. ``idempotency`` (key, request hash) remembers the answer
    in the same statement; a key used before, or used at the same moment, goes
    to :func:`register`'s unit of work, which replays or refuses it. An invite
    code takes :func:`register` too (its referral rules lock and read several rows).
    """
    scene, created, touched = _fast_path_events(member_no, period_id, body, source=source, now=now)
    answer = RegistrationRead(
        id=1, period_id=period_id, state="confirmed", fee_fen=0, created_at=now, confirmed_at=now
    )
    remembered = (*idempotency, answer.model_dump(mode="json")) if idempotency else None
    try:
        done = await repository.register_free(
            pool, period_id=period_id, member_no=member_no, now=now, scene=scene, channel=body.channel,
            touched=touched, created=created, notify=notify, idempotency=remembered, batches=batches,
        )
    except asyncpg.UniqueViolationError as exc:
        if idempotency:  # perhaps a retry with the same key a moment ago: the unit of work tells
            return None
        raise _already() from exc  # the same member registering twice at once
    if done is None:
        raise NotFound("活动期不存在。", slug="period-not-found", title="Period not found")
    if done.registration_id is not None:
        answer.id, answer.channel_id = done.registration_id, done.channel_id
        return answer
    if done.replay:
        return None
    seen = done.period
    if seen["fee_fen"] > 0:
        # A paid period: what the statement saw already refuses most members of a
        # launch before anyone asks identity for an openid (the same refusals, in
        # the same order, as :func:`register`); the rest take :func:`register_paid`.
        if not _accepting(
            seen["state"], seen["late_join"], seen["registration_opens_at"], seen["registration_closes_at"], now
        ):
            raise _closed()
        if done.blocked:
            raise _blocked()
        if not done.existing and seen["taken"] >= seen["capacity"]:
            raise _full()
        return None
    await _refusal(pool, period_id, done, now)


async def _refusal(
    pool: asyncpg.Pool, period_id: int, done: repository.FreeRegistration, now: datetime
) -> NoReturn:
    """Raise why the one-statement registration took no place (same order of refusals as :func:`register`)."""
    seen = done.period
    if not _accepting(
        seen["state"], seen["late_join"], seen["registration_opens_at"], seen["registration_closes_at"], now
    ):
        raise _closed()
    if done.blocked:
        raise _blocked()
    if done.existing:
        raise _already()
    if seen["taken"] < seen["capacity"]:
        # Lost the race for the last place, or the period just stopped registering.
        again = await repository.period_state(pool, period_id)
        if again is None or not _accepting(
            again["state"], again["late_join"], again["registration_opens_at"], again["registration_closes_at"],
            now,
        ):
            raise _closed()
    raise _full()


async def register_paid(
    pool: asyncpg.Pool,
    *,
    period_id: int,
    member_no: int,
    body: RegistrationCreate,
    now: datetime,
    source: str,
    notify: bool,
    pay: WeChatPayClient | None,
    members: MemberDirectory,
    order_ttl: timedelta,
    batches: repository.FreeRegistrationBatches | None = None,
) -> RegistrationRead:
    """Register a member for a paid period: place, registration, order and events in one statement, then prepay.

    The out_trade_no is fixed when the place is reserved; the openid lookup
    and the WeChat Pay call come after the commit, outside any transaction.
    If either fails the member gets the problem and keeps the place until the
    order expires; registering again meanwhile places the same order again
    (same out_trade_no, same prepay_id).
    """
    if pay is None:
        raise Unavailable("支付暂不可用，请稍后再试。", slug="payment-unavailable")
    waiting = await repository.awaiting_order(pool, period_id, member_no, now)
    if waiting is not None:
        return await _prepay(pool, pay, members, period_id=period_id, member_no=member_no, order=waiting)
    out_trade_no, expires_at = new_out_trade_no(now), now + order_ttl
    scene, created, touched = _fast_path_events(member_no, period_id, body, source=source, now=now)
    try:
        done = await repository.register_free(
            pool, period_id=period_id, member_no=member_no, now=now, scene=scene, channel=body.channel,
            touched=touched, created=created, notify=notify, batches=batches, order=(out_trade_no, expires_at),
        )
    except asyncpg.UniqueViolationError as exc:
        raise _already() from exc
    if done is None:
        raise NotFound("活动期不存在。", slug="period-not-found", title="Period not found")
    if done.registration_id is None:
        if done.period["fee_fen"] == 0:
            raise Conflict("本期活动免费，无需支付。", slug="period-is-free", title="Period is free")
        await _refusal(pool, period_id, done, now)
    order = {
        "registration_id": done.registration_id, "channel_id": done.channel_id, "created_at": now,
        "fee_fen": done.period["fee_fen"], "out_trade_no": out_trade_no, "amount_fen": done.period["fee_fen"],
        "order_state": "created", "expires_at": expires_at, "prepay_id": None, "title": done.title,
    }
    return await _prepay(pool, pay, members, period_id=period_id, member_no=member_no, order=order)


async def _prepay(
    pool: asyncpg.Pool,
    pay: WeChatPayClient,
    members: MemberDirectory,
    *,
    period_id: int,
    member_no: int,
    order: dict[str, Any],
) -> RegistrationRead:
    """Place the reserved order at WeChat Pay (idempotent by out_trade_no) and answer with its pay params.

    The openid is asked of identity only now, after the place was won: the
    losers of a launch cost identity nothing.
    """
    prepay_id = order["prepay_id"]
    if prepay_id is None:
        prepay_id = await pay.create_jsapi(
            out_trade_no=order["out_trade_no"],
            description=f"{order['title']} 报名费",
            amount_fen=order["amount_fen"],
            openid=await members.mp_openid(member_no),
            expires_at=order["expires_at"],
        )
        await repository.set_prepay(pool, order["out_trade_no"], prepay_id)
    return RegistrationRead(
        id=order["registration_id"], period_id=period_id, state="awaiting_payment", fee_fen=order["fee_fen"],
        created_at=order["created_at"], channel_id=order["channel_id"],
        order=OrderRead(
            out_trade_no=order["out_trade_no"], amount_fen=order["amount_fen"], state=order["order_state"],
            expires_at=order["expires_at"], pay_params=PayParams(**pay.pay_params(prepay_id)),
        ),
    )


async def register(
    session: AsyncSession,
    *,
    period_id: int,
    member_no: int,
    body: RegistrationCreate,
    now: datetime,
    pay: WeChatPayClient | None,
    members: MemberDirectory,
    order_ttl: timedelta,
    invite_keys: list[bytes] | None = None,
) -> RegistrationRead:
    """Register a member; a paid period also places a WeChat Pay order and holds the place meanwhile."""
    period = await periods.require_period(session, period_id)
    _check_open(period, now)
    if await session.get(BlockedMember, member_no) is not None:
        raise _blocked()
    if await repository.active_registration(session, period_id, member_no) is not None:
        raise _already()
    if period.taken >= period.capacity:
        raise _full()

    order: Order | None = None
    params: dict[str, str] | None = None
    if period.fee_fen > 0:
        if pay is None:
            raise Unavailable("支付暂不可用，请稍后再试。", slug="payment-unavailable")
        # The WeChat Pay call happens before the place is taken, so no lock is held
        # across the network; an order whose registration then fails expires unpaid.
        openid = await members.mp_openid(member_no)
        out_trade_no = new_out_trade_no(now)
        expires_at = now + order_ttl
        prepay_id = await pay.create_jsapi(
            out_trade_no=out_trade_no,
            description=f"{period.title} 报名费",
            amount_fen=period.fee_fen,
            openid=openid,
            expires_at=expires_at,
        )
        params = pay.pay_params(prepay_id)
        order = Order(
            period_id=period.id,
            member_no=member_no,
            out_trade_no=out_trade_no,
            amount_fen=period.fee_fen,
            state="created",
            prepay_id=prepay_id,
            expires_at=expires_at,
        )

    if not await repository.take_place(session, period.id):
        # Lost the race for the last place, or the period just stopped registering.
        await session.refresh(period)
        _check_open(period, now)
        raise _full()
    channel_id = await channels.attribute_registration(
        session, member_no=member_no, scene=body.channel, at=now
    )
    registration = Registration(
        period_id=period.id,
        member_no=member_no,
        fee_fen=period.fee_fen,
        channel=body.channel,
        channel_id=channel_id,
        created_at=now,
        state="awaiting_payment" if order else "confirmed",
        confirmed_at=None if order else now,
    )
    session.add(registration)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same member registering twice at once
        raise _already() from exc
    if order is not None:
        order.registration_id = registration.id
        session.add(order)
        await session.flush()
    referral = None
    if body.invite_code and invite_keys:
        referral = await referrals.record(
            session, registration=registration, invite_code=body.invite_code, keys=invite_keys, now=now,
            still_active=partial(repository.is_active, session),
        )
    await emit(
        session,
        RegistrationCreated(
            member_no=member_no,
            registration_id=registration.id,
            series_id=period.series_id,
            period_id=period.id,
            fee_fen=period.fee_fen,
            channel=body.channel,
        ),
        member_no=member_no,
        occurred_at=now,
    )
    read = read_of(registration, order, params)
    read.referral = referral
    return read


def read_of(
    registration: Registration, order: Order | None, params: dict[str, str] | None = None
) -> RegistrationRead:
    """The API view of a registration and its order."""
    return RegistrationRead(
        id=registration.id,
        period_id=registration.period_id,
        state=registration.state,
        fee_fen=registration.fee_fen,
        created_at=registration.created_at,
        confirmed_at=registration.confirmed_at,
        cancelled_at=registration.cancelled_at,
        cancel_reason=registration.cancel_reason,
        cancelled_by=registration.cancelled_by_kind,
        channel_id=registration.channel_id,
        order=OrderRead(
            out_trade_no=order.out_trade_no,
            amount_fen=order.amount_fen,
            state=order.state,
            expires_at=order.expires_at,
            pay_params=PayParams(**params) if params else None,
        )
        if order
        else None,
    )
