"""Referral rules: a code credits its owner once per invitee, never oneself, never in a cycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.referrals import repository
from campaign_service.referrals.codes import inviter_of
from campaign_service.referrals.models import Referral
from shared.contracts.campaign import ReferralCredited
from shared.events.outbox import emit

log = structlog.get_logger("campaign.referrals")


class ReferredRegistration(Protocol):
    """What a referral needs of a registration (referrals sit below registrations and never import them)."""

    id: int
    member_no: int
    period_id: int
    state: str


async def record(
    session: AsyncSession,
    *,
    registration: ReferredRegistration,
    invite_code: str,
    keys: list[bytes],
    now: datetime,
    still_active: Callable[[int], Awaitable[bool]],
) -> str:
    """Attach an invite code to a registration; returns the outcome.

    ``still_active(registration_id)`` tells whether an earlier referred
    registration of the same invitee still holds (then this one is refused).

    Outcomes: ``credited`` (a confirmed registration), ``pending`` (credited at
    payment), or why nothing happened: ``invalid``, ``self``, ``cycle``,
    ``already-referred``. A bad code never fails the registration itself.
    """
    invitee = registration.member_no
    inviter = inviter_of(invite_code, keys)
    if inviter is None:
        return "invalid"
    if inviter == invitee:
        return "self"
    await repository.lock(session)
    existing = await repository.of_invitee(session, invitee, lock=True)
    if existing is not None:
        if existing.state == "credited":
            return "already-referred"
        if await still_active(existing.registration_id):
            return "already-referred"
    if await repository.is_upline(session, member_no=invitee, of=inviter):
        log.info("referral_cycle_refused", inviter=inviter, invitee=invitee)
        return "cycle"
    if existing is None:
        existing = Referral(invitee_member_no=invitee)
        session.add(existing)
    # A pending referral whose registration lapsed unpaid is taken over by this one.
    existing.inviter_member_no = inviter
    existing.invite_code = invite_code.strip().upper()
    existing.registration_id = registration.id
    existing.period_id = registration.period_id
    existing.state = "pending"
    existing.created_at = now
    existing.credited_at = None
    await session.flush()
    if registration.state == "confirmed":
        await _credit(session, existing, now)
        return "credited"
    return "pending"


async def on_confirmed(session: AsyncSession, registration: ReferredRegistration, now: datetime) -> None:
    """A registration was paid: credit its pending referral."""
    referral = await repository.of_registration(session, registration.id)
    if referral is not None and referral.state == "pending":
        await _credit(session, referral, now)


async def _credit(session: AsyncSession, referral: Referral, now: datetime) -> None:
    referral.state, referral.credited_at = "credited", now
    await session.flush()
    await emit(
        session,
        ReferralCredited(
            member_no=referral.inviter_member_no,
            invitee_member_no=referral.invitee_member_no,
            period_id=referral.period_id,
        ),
        member_no=referral.inviter_member_no,
        occurred_at=now,
    )
