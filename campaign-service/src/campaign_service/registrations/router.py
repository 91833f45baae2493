"""Registering (mini-program), the member's own registrations, and cancelling them (member or staff)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from campaign_service.checkins import repository as checkins
from campaign_service.checkins import service as checkin_service
from campaign_service.deps import ClockDep, InviteKeysDep, MembersDep, PayDep, RuntimeDep, settings_of
from campaign_service.payments import repository as orders
from campaign_service.payments.service import settle_with_query
from campaign_service.periods import repository as periods_repo
from campaign_service.registrations import cancellation, repository, service
from campaign_service.registrations.cancellation import MEMBER_REQUEST, Canceller
from campaign_service.registrations.schemas import (
    CancellationRead,
    MyRegistration,
    RegistrationCancel,
    RegistrationCreate,
    RegistrationRead,
)
from campaign_service.settlement import repository as refunds
from shared.auth import CurrentMember, CurrentStaff, require_roles
from shared.errors import Invalid, NotFound
from shared.fields import IdPath
from shared.routing import SessionDep

mp_router = APIRouter(prefix="/mp/v1", tags=["registrations"])
admin_router = APIRouter(prefix="/admin/v1/periods", tags=["registrations"])
EDIT = require_roles("admin", "operator")

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)]


@mp_router.post("/periods/{period_id}/registrations", status_code=201, response_model=RegistrationRead)
async def register(
    period_id: IdPath,
    body: RegistrationCreate,
    member: CurrentMember,
    session: SessionDep,
    clock: ClockDep,
    pay: PayDep,
    members: MembersDep,
    runtime: RuntimeDep,
    keys: InviteKeysDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register for a period; a retry with the same Idempotency-Key replays the first answer."""
    scope = "register"
    if idempotency_key:
        request_hash = hashlib.sha256(
            orjson.dumps(
                {"period_id": period_id, "body": body.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
            )
        ).hexdigest()
        earlier = await repository.claim_idempotency(
            session, member_no=member.member_no, scope=scope, key=idempotency_key, request_hash=request_hash
        )
        if earlier is not None:
            if earlier.request_hash != request_hash or earlier.response is None:
                raise Invalid(
                    "同一个 Idempotency-Key 不能用于不同的请求。",
                    slug="idempotency-key-reused",
                    title="Idempotency key reused",
                )
            return JSONResponse(
                earlier.response,
                status_code=earlier.status_code or 201,
                headers={"Idempotent-Replayed": "true"},
            )
    read = await service.register(
        session,
        period_id=period_id,
        member_no=member.member_no,
        body=body,
        now=clock.now(),
        pay=pay,
        members=members,
        order_ttl=timedelta(seconds=settings_of(runtime).order_ttl_seconds),
        invite_keys=keys,
    )
    payload = read.model_dump(mode="json")
    if idempotency_key:
        await repository.store_idempotent_response(
            session,
            member_no=member.member_no,
            scope=scope,
            key=idempotency_key,
            status_code=201,
            response=payload,
        )
    return JSONResponse(payload, status_code=201)


@mp_router.get("/me/registrations")
async def my_registrations(
    member: CurrentMember, session: SessionDep, clock: ClockDep
) -> list[MyRegistration]:
    """My periods with their check-in calendar, current rate and the refund it would earn now."""
    now = clock.now()
    out = []
    for registration in await repository.registrations_of_member(session, member.member_no):
        period = await periods_repo.get_period(session, registration.period_id)
        assert period is not None
        mine = await checkins.of_member(session, period.id, member.member_no)
        rate, refund_now = checkin_service.rate_and_refund(period, mine, registration.fee_fen)
        refund = await refunds.of_registration(session, registration.id)
        order = await orders.latest_of_registration(session, registration.id)
        out.append(
            MyRegistration(
                registration=service.read_of(registration, order),
                period_title=period.title,
                series_id=period.series_id,
                period_number=period.number,
                period_state=period.state,
                start_date=period.start_date,
                end_date=period.end_date,
                calendar=checkin_service.calendar(period, mine, now),
                checked_days=rate.checked,
                planned_days=rate.planned,
                rate_percent=rate.percent,
                refund_now_fen=refund_now if registration.state == "confirmed" else 0,
                refund_state=refund.state if refund else None,
                refund_amount_fen=refund.amount_fen if refund else None,
            )
        )
    return out


@mp_router.post("/me/registrations/{registration_id}/payment-check")
async def check_payment(
    registration_id: IdPath,
    member: CurrentMember,
    session: SessionDep,
    clock: ClockDep,
    pay: PayDep,
) -> RegistrationRead:
    """Ask WeChat Pay about my pending order (after wx.requestPayment, when the notification is late)."""
    registration = await repository.get_registration(session, registration_id)
    if registration is None or registration.member_no != member.member_no:
        raise NotFound("报名记录不存在。", slug="registration-not-found", title="Registration not found")
    order = await orders.latest_of_registration(session, registration.id)
    if registration.state == "awaiting_payment" and order is not None and pay is not None:
        await settle_with_query(session, order, pay, clock.now())
        await session.refresh(registration)
        await session.refresh(order)
    return service.read_of(registration, order)


@mp_router.post("/me/registrations/{registration_id}/cancel")
async def cancel_mine(
    registration_id: IdPath,
    member: CurrentMember,
    session: SessionDep,
    clock: ClockDep,
    pay: PayDep,
) -> CancellationRead:
    """Cancel my registration before the period starts; a paid one is refunded in full."""
    return await cancellation.cancel(
        session,
        registration_id=registration_id,
        by=Canceller(kind="member", id=member.member_no, reason=MEMBER_REQUEST, refund=True),
        pay=pay,
        now=clock.now(),
    )


@admin_router.post("/{period_id}/registrations/{registration_id}/cancel", dependencies=[EDIT])
async def cancel_registration(
    period_id: IdPath,
    registration_id: IdPath,
    body: RegistrationCancel,
    staff: CurrentStaff,
    session: SessionDep,
    clock: ClockDep,
    pay: PayDep,
) -> CancellationRead:
    """Cancel a registration until the period closes, with a reason; optionally refund the full fee."""
    return await cancellation.cancel(
        session,
        registration_id=registration_id,
        period_id=period_id,
        by=Canceller(kind="staff", id=staff.staff_id, reason=body.reason, refund=body.refund),
        pay=pay,
        now=clock.now(),
    )
