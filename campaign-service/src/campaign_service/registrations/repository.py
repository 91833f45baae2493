"""SQL of registrations, places and idempotency records."""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.periods.models import Period
from campaign_service.registrations.models import ACTIVE_STATES, IdempotencyRecord, Registration


async def take_place(session: AsyncSession, period_id: int) -> bool:
    """Take one place if any is left, atomically (the row lock serialises concurrent takers)."""
    taken = await session.scalar(
        update(Period)
        .where(
            Period.id == period_id,
            or_(Period.state == "open", and_(Period.state == "running", Period.late_join)),
            Period.taken < Period.capacity,
        )
        .values(taken=Period.taken + 1)
        .returning(Period.taken)
    )
    return taken is not None


async def retake_place(session: AsyncSession, period_id: int) -> bool:
    """Take a place back for a late payment (any state before closing)."""
    taken = await session.scalar(
        update(Period)
        .where(Period.id == period_id, Period.state.in_(("open", "running")), Period.taken < Period.capacity)
        .values(taken=Period.taken + 1)
        .returning(Period.taken)
    )
    return taken is not None


async def release_place(session: AsyncSession, period_id: int) -> None:
    """Give a held place back."""
    await session.execute(
        update(Period).where(Period.id == period_id, Period.taken > 0).values(taken=Period.taken - 1)
    )


async def active_registration(session: AsyncSession, period_id: int, member_no: int) -> Registration | None:
    """The member's live registration for a period."""
    return await session.scalar(
        select(Registration).where(
            Registration.period_id == period_id,
            Registration.member_no == member_no,
            Registration.state.in_(ACTIVE_STATES),
        )
    )


async def get_registration(
    session: AsyncSession, registration_id: int, *, lock: bool = False
) -> Registration | None:
    """One registration."""
    stmt = select(Registration).where(Registration.id == registration_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def registrations_of_member(session: AsyncSession, member_no: int) -> list[Registration]:
    """A member's registrations, newest first."""
    return list(
        await session.scalars(
            select(Registration)
            .where(Registration.member_no == member_no)
            .order_by(Registration.id.desc())
            .limit(200)
        )
    )


async def confirmed_of_period(session: AsyncSession, period_id: int) -> list[Registration]:
    """Confirmed registrations of a period."""
    return list(
        await session.scalars(
            select(Registration)
            .where(Registration.period_id == period_id, Registration.state == "confirmed")
            .order_by(Registration.id)
        )
    )


async def claim_idempotency(
    session: AsyncSession, *, member_no: int, scope: str, key: str, request_hash: str
) -> IdempotencyRecord | None:
    """Claim a key; returns None when claimed now, else the earlier record.

    A concurrent request with the same key waits on the unique index until
    the first one commits (then sees its record) or rolls back (then claims).
    """
    claimed = await session.scalar(
        insert(IdempotencyRecord)
        .values(member_no=member_no, scope=scope, key=key, request_hash=request_hash)
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if claimed is not None:
        return None
    return await session.get(IdempotencyRecord, (member_no, scope, key), populate_existing=True)


async def store_idempotent_response(
    session: AsyncSession, *, member_no: int, scope: str, key: str, status_code: int, response: dict
) -> None:
    """Remember the response of a claimed key."""
    await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.member_no == member_no,
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
        )
        .values(status_code=status_code, response=response)
    )


async def is_active(session: AsyncSession, registration_id: int) -> bool:
    """Whether a registration still holds its place (awaiting payment or confirmed)."""
    registration = await session.get(Registration, registration_id)
    return registration is not None and registration.state in ACTIVE_STATES


async def active_ids_of_period(session: AsyncSession, period_id: int) -> list[int]:
    """Registrations of a period that still hold a place (awaiting payment or confirmed)."""
    return list(
        await session.scalars(
            select(Registration.id)
            .where(Registration.period_id == period_id, Registration.state.in_(ACTIVE_STATES))
            .order_by(Registration.id)
        )
    )
