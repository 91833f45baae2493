"""Staff and member endpoints that move periods and registrations along their lives."""

from __future__ import annotations

from fastapi import APIRouter

from campaign_service.deps import ClockDep, PayDep
from campaign_service.lifecycle import cancellation
from campaign_service.lifecycle import periods as period_life
from campaign_service.lifecycle.cancellation import MEMBER_REQUEST, Canceller
from campaign_service.lifecycle.payments import settle_with_query
from campaign_service.lifecycle.periods import Mover
from campaign_service.payments import repository as orders
from campaign_service.periods import repository as periods_repo
from campaign_service.periods import service as periods
from campaign_service.periods.schemas import (
    PeriodCancel,
    PeriodHistoryItem,
    PeriodPostpone,
    PeriodRead,
    PeriodTransition,
)
from campaign_service.registrations import repository, service
from campaign_service.registrations.schemas import CancellationRead, RegistrationCancel, RegistrationRead
from shared.auth import CurrentMember, CurrentStaff, require_roles
from shared.errors import NotFound
from shared.fields import IdPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1", tags=["series & periods"])
mp_router = APIRouter(prefix="/mp/v1", tags=["registrations"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


@admin_router.post("/periods/{period_id}/state", dependencies=[EDIT])
async def change_state(
    period_id: IdPath, body: PeriodTransition, staff: CurrentStaff, session: SessionDep, clock: ClockDep
) -> PeriodRead:
    """Open, start or close a period; closing computes every registrant's refund."""
    period = await periods.require_period(session, period_id, lock=True)
    moved = await period_life.transition(
        session, period, body.state, clock.now(), by=Mover("staff", staff.staff_id)
    )
    return PeriodRead.model_validate(moved)


@admin_router.post("/periods/{period_id}/postpone", dependencies=[EDIT])
async def postpone_period(
    period_id: IdPath, body: PeriodPostpone, staff: CurrentStaff, session: SessionDep, clock: ClockDep
) -> PeriodRead:
    """Move the dates of a period that has not started yet."""
    period = await periods.require_period(session, period_id, lock=True)
    moved = await period_life.postpone(session, period, body, clock.now(), by=Mover("staff", staff.staff_id))
    return PeriodRead.model_validate(moved)


@admin_router.post("/periods/{period_id}/cancel", dependencies=[EDIT])
async def cancel_period(
    period_id: IdPath, body: PeriodCancel, staff: CurrentStaff, session: SessionDep, clock: ClockDep,
    pay: PayDep,
) -> PeriodRead:
    """Call a period off: every registration is cancelled and every paid one refunded in full (once)."""
    period = await periods.require_period(session, period_id, lock=True)
    cancelled = await period_life.cancel(
        session, period, reason=body.reason, staff_id=staff.staff_id, pay=pay, now=clock.now()
    )
    return PeriodRead.model_validate(cancelled)


@admin_router.get("/periods/{period_id}/history", dependencies=[READ])
async def period_history(period_id: IdPath, session: SessionDep) -> list[PeriodHistoryItem]:
    """Every move of the period: from where to where, when, by whom (staff) or what (scheduler, settlement)."""
    await periods.require_period(session, period_id)
    return [PeriodHistoryItem.model_validate(t) for t in await periods_repo.transitions_of(session, period_id)]


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


@admin_router.post("/periods/{period_id}/registrations/{registration_id}/cancel", dependencies=[EDIT])
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
