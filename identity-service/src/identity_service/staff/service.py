"""Staff sign-in with lockout, and account administration."""

from __future__ import annotations

import math
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity_service.config import IdentitySettings
from identity_service.errors import RecordedFailure
from identity_service.staff import repository
from identity_service.staff.errors import (
    account_disabled,
    account_locked,
    invalid_credentials,
    last_admin,
    not_yourself,
    password_too_short,
    staff_not_found,
    username_taken,
)
from identity_service.staff.models import Staff
from identity_service.staff.passwords import hash_password, needs_rehash, verify_password
from identity_service.staff.schemas import StaffCreate, StaffRead, StaffSessionRead
from shared.auth import STAFF_TTL, StaffPrincipal, TokenCodec
from shared.contracts.identity import AccessRevoked
from shared.db import unit_of_work
from shared.events.envelope import utcnow
from shared.events.outbox import emit

log = structlog.get_logger("identity.staff")


def staff_read(staff: Staff) -> StaffRead:
    """The API shape of an account."""
    return StaffRead(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        disabled=staff.disabled_at is not None,
        locked_until=staff.locked_until,
        last_login_at=staff.last_login_at,
        created_at=staff.created_at,
    )


def principal_of(staff: Staff) -> StaffPrincipal:
    """The identity a staff token carries."""
    return StaffPrincipal(staff_id=staff.id, username=staff.username, roles=frozenset({staff.role}))


async def login(
    session: AsyncSession, *, settings: IdentitySettings, tokens: TokenCodec, username: str, password: str
) -> StaffSessionRead:
    """Check a password and issue a staff token; failures count towards a lockout (RecordedFailure)."""
    staff = await repository.by_username(session, username)
    now = utcnow()
    if staff is not None and staff.locked_until is not None and staff.locked_until > now:
        raise account_locked(math.ceil((staff.locked_until - now).total_seconds()))
    if not await verify_password(staff.password_hash if staff else None, password):
        if staff is None:
            raise invalid_credentials()
        staff = await repository.record_failure(
            session,
            staff_id=staff.id,
            max_failures=settings.staff_max_failed_logins,
            lock_until=now + timedelta(seconds=settings.staff_lockout_seconds),
        )
        log.warning("staff_login_failed", staff_id=staff.id, locked=staff.locked_until is not None)
        if staff.locked_until is not None and staff.locked_until > now:
            raise RecordedFailure(account_locked(settings.staff_lockout_seconds))
        raise RecordedFailure(invalid_credentials())
    assert staff is not None
    if staff.disabled_at is not None:
        raise account_disabled()
    rehashed = await hash_password(password) if needs_rehash(staff.password_hash) else None
    await repository.record_success(session, staff_id=staff.id, password_hash=rehashed)
    staff = await require(session, staff.id)
    log.info("staff_logged_in", staff_id=staff.id)
    return StaffSessionRead(
        token=tokens.issue_staff(principal_of(staff)), expires_in=STAFF_TTL, staff=staff_read(staff)
    )


async def create(
    session: AsyncSession, *, settings: IdentitySettings, body: StaffCreate, created_by: int | None
) -> Staff:
    """Create a staff account."""
    if len(body.password) < settings.staff_min_password_length:
        raise password_too_short(settings.staff_min_password_length)
    staff = await repository.insert_if_absent(
        session,
        username=body.username,
        password_hash=await hash_password(body.password),
        role=body.role,
        display_name=body.display_name,
        created_by=created_by,
    )
    if staff is None:
        raise username_taken(body.username)
    log.info("staff_created", staff_id=staff.id, role=staff.role, by=created_by)
    return staff


async def require(session: AsyncSession, staff_id: int) -> Staff:
    """The account with ``staff_id``."""
    staff = await repository.get(session, staff_id)
    if staff is None:
        raise staff_not_found(staff_id)
    return staff


async def set_disabled(
    session: AsyncSession, *, staff_id: int, disabled: bool, actor: StaffPrincipal
) -> Staff:
    """Disable (or re-enable, which also lifts a lockout) an account."""
    staff = await require(session, staff_id)
    if disabled:
        if staff.id == actor.staff_id:
            raise not_yourself()
        if (
            staff.disabled_at is None
            and staff.role == "admin"
            and await repository.active_admins(session) <= 1
        ):
            raise last_admin()
        if staff.disabled_at is None:
            staff.disabled_at = utcnow()
            await _revoke_tokens(session, staff.id, reason="disabled")
    else:
        staff.disabled_at = None
        staff.failed_logins = 0
        staff.locked_until = None
    await session.flush()
    log.info("staff_disabled" if disabled else "staff_enabled", staff_id=staff.id, by=actor.staff_id)
    return staff


async def change_role(session: AsyncSession, *, staff_id: int, role: str, actor: StaffPrincipal) -> Staff:
    """Give an account another role (never leaving the console without an admin)."""
    staff = await require(session, staff_id)
    if (
        staff.role == "admin"
        and role != "admin"
        and staff.disabled_at is None
        and await repository.active_admins(session) <= 1
    ):
        raise last_admin()
    if staff.role != role:
        staff.role = role
        # Tokens carry the role: the old ones must stop counting at once.
        await _revoke_tokens(session, staff.id, reason="role-changed")
    await session.flush()
    log.info("staff_role_changed", staff_id=staff.id, role=role, by=actor.staff_id)
    return staff


async def _revoke_tokens(session: AsyncSession, staff_id: int, *, reason: str) -> None:
    """Tell the gateway that this account's existing tokens no longer count."""
    await emit(
        session,
        AccessRevoked(kind="staff", subject=str(staff_id), revoked_at=utcnow(), reason=reason),
        member_no=None,
        key=f"staff-{staff_id}",
    )


async def ensure_admin(
    session_factory: async_sessionmaker[AsyncSession], *, username: str, password: str
) -> bool:
    """Create admin ``username`` unless an account with that name exists; True if created."""
    async with unit_of_work(session_factory) as session:
        created = await repository.insert_if_absent(
            session,
            username=username.strip().lower(),
            password_hash=await hash_password(password),
            role="admin",
            display_name=None,
            created_by=None,
        )
    if created is not None:
        log.info("first_admin_created", username=created.username)
    return created is not None
