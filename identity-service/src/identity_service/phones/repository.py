"""SQL of phones and merge candidates."""

from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.phones.models import MemberPhone, PhoneConflict

# Bulk updates leave loaded objects alone (no implicit expiry and lazy reload
# under asyncio); code that needs the new values re-reads them.
NO_SYNC = {"synchronize_session": False}


async def by_hashes(session: AsyncSession, hashes: Sequence[bytes]) -> MemberPhone | None:
    """The binding of a phone, searched under every known key."""
    return await session.scalar(select(MemberPhone).where(MemberPhone.phone_hash.in_(hashes)).limit(1))


async def bind(
    session: AsyncSession,
    *,
    member_no: int,
    phone_hash: bytes,
    phone_enc: bytes,
    country_code: str,
    masked: str,
    source: str,
) -> bool:
    """Bind a phone to a member; False when it is already bound (to anyone)."""
    stmt = (
        insert(MemberPhone)
        .values(
            member_no=member_no,
            phone_hash=phone_hash,
            phone_enc=phone_enc,
            country_code=country_code,
            masked=masked,
            source=source,
        )
        .on_conflict_do_nothing(index_elements=["phone_hash"])
        .returning(MemberPhone.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def phones_of(session: AsyncSession, member_no: int) -> list[MemberPhone]:
    """A member's phones, most recently bound first (the first is the current one)."""
    rows = await session.scalars(
        select(MemberPhone)
        .where(MemberPhone.member_no == member_no)
        .order_by(MemberPhone.bound_at.desc(), MemberPhone.id.desc())
    )
    return list(rows)


async def current_of_many(session: AsyncSession, member_nos: Sequence[int]) -> dict[int, MemberPhone]:
    """The current phone of each of several members."""
    if not member_nos:
        return {}
    rows = await session.scalars(
        select(MemberPhone)
        .where(MemberPhone.member_no.in_(member_nos))
        .order_by(MemberPhone.member_no, MemberPhone.bound_at.desc(), MemberPhone.id.desc())
        .ext(distinct_on(MemberPhone.member_no))
    )
    return {row.member_no: row for row in rows}


async def add_conflict(
    session: AsyncSession, *, phone_hash: bytes, masked: str, member_no: int, owner_member_no: int
) -> PhoneConflict:
    """Record a merge candidate, once per (phone, requesting member) while open."""
    existing = await session.scalar(
        select(PhoneConflict).where(
            PhoneConflict.phone_hash == phone_hash,
            PhoneConflict.member_no == member_no,
            PhoneConflict.status == "open",
        )
    )
    if existing is not None:
        return existing
    conflict = PhoneConflict(
        phone_hash=phone_hash, masked=masked, member_no=member_no, owner_member_no=owner_member_no
    )
    session.add(conflict)
    await session.flush()
    return conflict


async def conflicts_of(session: AsyncSession, member_no: int) -> list[PhoneConflict]:
    """Open merge candidates involving a member."""
    rows = await session.scalars(
        select(PhoneConflict)
        .where(
            PhoneConflict.status == "open",
            or_(PhoneConflict.member_no == member_no, PhoneConflict.owner_member_no == member_no),
        )
        .order_by(PhoneConflict.id)
    )
    return list(rows)


async def open_conflicts(session: AsyncSession, *, limit: int, after: int | None) -> list[PhoneConflict]:
    """Open merge candidates, oldest first."""
    stmt = select(PhoneConflict).where(PhoneConflict.status == "open")
    if after is not None:
        stmt = stmt.where(PhoneConflict.id > after)
    return list(await session.scalars(stmt.order_by(PhoneConflict.id).limit(limit)))


async def get_conflict(session: AsyncSession, conflict_id: int) -> PhoneConflict | None:
    """A merge candidate by id."""
    return await session.get(PhoneConflict, conflict_id)


async def resolve_conflicts(
    session: AsyncSession, *, member_nos: Sequence[int], status: str, by: str, conflict_id: int | None = None
) -> None:
    """Close open candidates between the given members (or one candidate by id)."""
    stmt = update(PhoneConflict).where(PhoneConflict.status == "open")
    if conflict_id is not None:
        stmt = stmt.where(PhoneConflict.id == conflict_id)
    else:
        stmt = stmt.where(
            and_(PhoneConflict.member_no.in_(member_nos), PhoneConflict.owner_member_no.in_(member_nos))
        )
    await session.execute(
        stmt.values(status=status, resolved_at=func.now(), resolved_by=by), execution_options=NO_SYNC
    )


async def move_member(session: AsyncSession, *, from_no: int, into_no: int) -> int:
    """Re-key a merged member's phones to the survivor; returns how many."""
    result = await session.execute(
        update(MemberPhone)
        .where(MemberPhone.member_no == from_no)
        .values(member_no=into_no)
        .returning(MemberPhone.id),
        execution_options=NO_SYNC,
    )
    return len(result.all())


async def move_conflicts(session: AsyncSession, *, from_no: int, into_no: int) -> int:
    """Re-key merge candidates; those between the two merged members are closed as merged."""
    await resolve_conflicts(session, member_nos=[from_no, into_no], status="merged", by="merge")
    moved = 0
    for column in (PhoneConflict.member_no, PhoneConflict.owner_member_no):
        result = await session.execute(
            update(PhoneConflict)
            .where(column == from_no)
            .values({column.key: into_no})
            .returning(PhoneConflict.id),
            execution_options=NO_SYNC,
        )
        moved += len(result.all())
    return moved


async def member_nos_with_hashes(session: AsyncSession, hashes: Sequence[bytes]) -> list[int]:
    """Members holding a phone with one of ``hashes``."""
    rows = await session.scalars(select(MemberPhone.member_no).where(MemberPhone.phone_hash.in_(hashes)))
    return list(rows)
