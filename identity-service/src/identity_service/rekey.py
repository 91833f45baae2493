"""Finishing a secret-key rotation: rewrite what the previous key wrote.

While ``QUNYUN_SECRET_KEY_PREVIOUS`` is set, identity reads values under both
keys and writes new ones under the current key. ``rekey`` rewrites the rest
(encrypted phones and session keys, and the phones' lookup hashes with the
merge candidates that refer to them) so the previous key can be dropped.

It walks each table in key order, one short transaction per batch with the
rows locked, so it can run beside the service and can be run again: rows
already under the current key are left alone. Values no known key opens are
counted, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity_service.crypto import FieldCipher
from identity_service.phones.models import MemberPhone, PhoneConflict
from identity_service.phones.service import PHONE_CONTEXT
from identity_service.sessions.models import MpSession
from identity_service.sessions.service import SESSION_KEY_CONTEXT
from shared.db import unit_of_work

log = structlog.get_logger("identity.rekey")

DEFAULT_BATCH = 500


@dataclass
class RekeyReport:
    """What one run rewrote, per kind of value."""

    phones: int = 0
    phone_hashes: int = 0
    phone_conflicts: int = 0
    session_keys: int = 0
    unreadable: dict[str, int] = field(default_factory=lambda: {"phones": 0, "session_keys": 0})


async def rekey(
    session_factory: async_sessionmaker[AsyncSession], cipher: FieldCipher, *, batch: int = DEFAULT_BATCH
) -> RekeyReport:
    """Rewrite every value the current key did not write; returns the counts."""
    report = RekeyReport()
    for step, start in ((_phones_batch, 0), (_sessions_batch, UUID(int=0))):
        cursor: Any = start
        while cursor is not None:
            async with unit_of_work(session_factory) as session:
                cursor = await step(session, cipher, report, after=cursor, batch=batch)
    return report


async def _phones_batch(
    session: AsyncSession, cipher: FieldCipher, report: RekeyReport, *, after: int, batch: int
) -> int | None:
    """One batch of phones after id ``after``; the last id seen, or None at the end."""
    rows = (await session.execute(
        select(MemberPhone.id, MemberPhone.phone_enc, MemberPhone.phone_hash)
        .where(MemberPhone.id > after).order_by(MemberPhone.id).limit(batch).with_for_update()
    )).all()
    for row in rows:
        try:
            number = cipher.decrypt(row.phone_enc, context=PHONE_CONTEXT)
            new_enc = cipher.reencrypt(row.phone_enc, context=PHONE_CONTEXT)
        except ValueError:
            report.unreadable["phones"] += 1
            log.warning("rekey_unreadable", table="member_phones", id=row.id)
            continue
        changes: dict[str, bytes] = {}
        if new_enc is not None:
            changes["phone_enc"] = new_enc
            report.phones += 1
        new_hash = cipher.lookup_hash(number, context=PHONE_CONTEXT)
        if new_hash != row.phone_hash:
            changes["phone_hash"] = new_hash
            report.phone_hashes += 1
            moved = await session.execute(
                update(PhoneConflict).where(PhoneConflict.phone_hash == row.phone_hash)
                .values(phone_hash=new_hash).execution_options(synchronize_session=False)
            )
            report.phone_conflicts += moved.rowcount  # type: ignore[attr-defined]
        if changes:
            await session.execute(
                update(MemberPhone).where(MemberPhone.id == row.id).values(**changes)
                .execution_options(synchronize_session=False)
            )
    return rows[-1].id if len(rows) == batch else None


async def _sessions_batch(
    session: AsyncSession, cipher: FieldCipher, report: RekeyReport, *, after: UUID, batch: int
) -> UUID | None:
    """One batch of mini-program sessions after id ``after``; the last id seen, or None at the end."""
    rows = (await session.execute(
        select(MpSession.id, MpSession.session_key_enc)
        .where(MpSession.id > after).order_by(MpSession.id).limit(batch).with_for_update()
    )).all()
    for row in rows:
        try:
            new_enc = cipher.reencrypt(row.session_key_enc, context=SESSION_KEY_CONTEXT)
        except ValueError:
            report.unreadable["session_keys"] += 1
            continue
        if new_enc is not None:
            await session.execute(
                update(MpSession).where(MpSession.id == row.id).values(session_key_enc=new_enc)
                .execution_options(synchronize_session=False)
            )
            report.session_keys += 1
    return rows[-1].id if len(rows) == batch else None
