"""SQL of staff accounts."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.staff.models import Staff

# Bulk updates leave loaded objects alone (no implicit expiry and lazy reload
# under asyncio); code that needs the new values re-reads them.
NO_SYNC = {"synchronize_session": False}


async def get(session: AsyncSession, staff_id: int) -> Staff | None:
    """A staff account by id (re-read, never a stale loaded copy)."""
    return await session.scalar(
        select(Staff).where(Staff.id == staff_id).execution_options(populate_existing=True)
    )


async def by_username(session: AsyncSession, username: str) -> Staff | None:
    """A staff account by (lower-case) username."""
    return await session.scalar(
        select(Staff).where(Staff.username == username).execution_options(populate_existing=True)
    )


async def insert_if_absent(
    session: AsyncSession,
    *,
    username: str,
    password_hash: str,
    role: str,
    display_name: str | None,
    created_by: int | None,
) -> Staff | None:
    """Create an account; None when the username is taken."""
    stmt = (
        insert(Staff)
        .values(
            username=username,
            password_hash=password_hash,
            role=role,
            display_name=display_name,
            created_by=created_by,
        )
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(Staff)
    )
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def record_failure(
    session: AsyncSession, *, staff_id: int, max_failures: int, lock_until: datetime
) -> Staff:
    """Count a failed login atomically; the one that reaches the limit locks the account."""
    result = await session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(failed_logins=Staff.failed_logins + 1)
        .returning(Staff.failed_logins),
        execution_options=NO_SYNC,
    )
    failures = result.scalar_one()
    if failures >= max_failures:
        await session.execute(
            update(Staff).where(Staff.id == staff_id).values(failed_logins=0, locked_until=lock_until),
            execution_options=NO_SYNC,
        )
    staff = await session.scalar(
        select(Staff).where(Staff.id == staff_id).execution_options(populate_existing=True)
    )
    assert staff is not None
    return staff


async def record_success(session: AsyncSession, *, staff_id: int, password_hash: str | None) -> None:
    """Reset the failure count after a good login (and store a re-hashed password)."""
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": func.now()}
    if password_hash is not None:
        values["password_hash"] = password_hash
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(**values), execution_options=NO_SYNC
    )


async def page(session: AsyncSession, *, limit: int, after: int | None) -> list[Staff]:
    """Staff accounts by id."""
    stmt = select(Staff)
    if after is not None:
        stmt = stmt.where(Staff.id > after)
    return list(await session.scalars(stmt.order_by(Staff.id).limit(limit)))


async def active_admins(session: AsyncSession) -> int:
    """How many enabled admins exist."""
    count = await session.scalar(
        select(func.count()).select_from(Staff).where(Staff.role == "admin", Staff.disabled_at.is_(None))
    )
    return int(count or 0)


async def any_admin(session: AsyncSession) -> bool:
    """Whether any admin account exists (enabled or not)."""
    return bool(await session.scalar(select(func.count()).select_from(Staff).where(Staff.role == "admin")))
